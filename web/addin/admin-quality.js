// The console's quality page: top-1, top-3 and "not in the list" from real use, overall, per
// week, per unit and per connector, the automatic filings and those undone, and the server's
// reliability plot of the confidence; the same numbers as GET /api/v1/admin/stats.

import { api, h, t, withSignIn } from "./app.js";
import { token } from "./api.js";
import { number, share, table } from "./admin-parts.js";
import { currentLanguage } from "./i18n.js";

const FIGURES = [
  ["filings", "filingsCount", number],
  ["shown", "shownCount", number],
  ["top1", "top1", share],
  ["top3", "top3", share],
  ["not_in_list", "notInList", share],
  ["auto_filed", "autoFiledCount", number],
  ["undone", "undoneCount", number],
];

const form = { from: "", to: "", group: "" };

function query() {
  const params = new URLSearchParams();
  if (form.from) params.set("from", new Date(`${form.from}T00:00:00`).toISOString());
  if (form.to) params.set("to", new Date(`${form.to}T00:00:00`).toISOString());
  if (form.group) params.set("group", form.group);
  return params;
}

export async function quality() {
  const params = query();
  const stats = await withSignIn(() => api.get(`/api/v1/admin/stats?${params}`));
  const plot = await reliabilityPlot(params);
  return [
    h("p", {}, t("qualityIntro")),
    filters(stats),
    h("div", { class: "tiles", id: "overall" }, ...FIGURES.map(([key, label, format]) =>
      h("div", { class: "tile", "data-figure": key },
        h("span", { class: "value" }, format(stats.overall[key])),
        h("span", { class: "label" }, t(label))))),
    h("h2", {}, t("weeksHeading")),
    figures(t("weeksHeading"), t("week"), stats.weeks.map((w) => [w.week, w]), "week"),
    h("h2", {}, t("qualityGroup")),
    figures(t("qualityGroup"), t("qualityGroup"), stats.groups.map((g) => [g.name, g]), "group"),
    h("h2", {}, t("byConnectorHeading")),
    figures(t("byConnectorHeading"), t("connector"), stats.connectors.map((c) => [c.name, c]), "connector"),
    h("h2", {}, t("reliabilityHeading")),
    h("p", { class: "hint" }, t("reliabilityIntro")),
    plot,
    table(t("reliabilityHeading"),
      [{ label: t("bucket") }, { label: t("bucketCount"), numeric: true }, { label: t("bucketHit"), numeric: true }],
      stats.reliability.filter((b) => b.count > 0).map((b) => [`${share(b.from)}–${share(b.to)}`, number(b.count), share(b.top1)])),
  ];
}

function figures(caption, first, rows, kind) {
  return table(caption,
    [{ label: first }, ...FIGURES.map(([key, label]) => ({ label: t(label), numeric: true, key }))],
    rows.map(([name, q]) => [name, ...FIGURES.map(([key, , format]) => format(q[key]))]),
    (i) => ({ [`data-${kind}`]: rows[i][0] }));
}

/** The period and unit, as a form whose "Vis" draws the page again. */
function filters(stats) {
  const field = (key, label, type) => {
    const input = h("input", { type, id: `quality-${key}`, value: form[key] });
    input.addEventListener("change", () => { form[key] = input.value; });
    return h("div", { class: "form-row" }, h("label", { for: `quality-${key}` }, label), input);
  };
  const group = h("select", { id: "quality-group" },
    h("option", { value: "" }, t("qualityAllGroups")),
    ...stats.groups.map((g) => h("option", { value: g.name, selected: g.name === form.group }, g.name)));
  if (form.group && !stats.groups.some((g) => g.name === form.group)) {
    group.append(h("option", { value: form.group, selected: true }, form.group));
  }
  group.addEventListener("change", () => { form.group = group.value; });
  const show = h("fluent-button", { appearance: "primary", id: "quality-show" }, t("qualityShow"));
  const element = h("form", { class: "quality-filters" },
    field("from", t("qualityFrom"), "date"), field("to", t("qualityTo"), "date"),
    h("div", { class: "form-row" }, h("label", { for: "quality-group" }, t("qualityGroup")), group),
    show);
  const redraw = async (event) => {
    event?.preventDefault();
    const section = document.getElementById("section");
    section.replaceChildren(...(await quality()));
  };
  element.addEventListener("submit", redraw);
  show.addEventListener("click", redraw);
  return element;
}

/** The server draws the plot; it is fetched with the token and shown as an image. */
async function reliabilityPlot(params) {
  const lang = currentLanguage();
  const response = await fetch(`/api/v1/admin/stats/reliability.svg?${params}&lang=${lang}`, {
    headers: { Authorization: `Bearer ${await token()}` },
  });
  if (!response.ok) return h("p", { class: "hint" }, `HTTP ${response.status}`);
  const svg = await response.text();
  const description = new DOMParser().parseFromString(svg, "image/svg+xml").querySelector("desc")?.textContent ?? "";
  const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  return h("figure", { class: "chart" },
    h("img", { src: url, alt: `${t("reliabilityHeading")}: ${description}`, id: "reliability-plot" }));
}
