// The console's ranker page: every feature the suggestions are ranked by, in words, with its
// starting weight, its weight now (learnt, or an admin's) and its weight before the last change.
// New weights are tried on the latest filings where a person saw suggestions ("Afprøv"), and
// only then switched on ("Slå til"); "Nulstil" tries the starting weights the same way, and
// "Fortryd ændring" brings back the weights from before the last change.

import { api, ApiError, currentLanguage, h, say, showError, t, withSignIn } from "./app.js";
import { figuresTodayAndAfter, number, share, table, when } from "./admin-parts.js";

const RANKER = "/api/v1/admin/ranker";
const FILINGS = 2000;

export async function rankerPage() {
  const ranker = await withSignIn(() => api.get(RANKER));
  const inputs = new Map();
  const rows = ranker.features.map((feature) => {
    const label = t(`rankerFeature_${feature.name}`);
    const input = h("input", {
      type: "number", id: `weight-${feature.name}`, step: "0.1", min: "-100", max: "100",
      "aria-label": t("rankerNewLabel", { feature: label }), "aria-describedby": `weight-${feature.name}-error`,
    });
    inputs.set(feature.name, input);
    return [
      h("span", {}, h("span", { class: "feature-name" }, label), h("span", { class: "hint feature-meaning" }, t(`rankerMeaning_${feature.name}`))),
      weight(feature.starting_weight),
      weight(feature.weight),
      feature.previous_weight === null ? "–" : weight(feature.previous_weight),
      h("span", { class: "weight-field" }, input, h("span", { class: "field-error", id: `weight-${feature.name}-error`, hidden: true })),
    ];
  });
  const columns = [
    { label: t("rankerFeature") }, { label: t("rankerStart"), numeric: true, key: "start" },
    { label: t("rankerWeight"), numeric: true, key: "weight" }, { label: t("rankerPrevious"), numeric: true, key: "previous" },
    { label: t("rankerNew"), key: "new" },
  ];
  const result = h("div", { id: "ranker-result" });
  const progress = h("div", { id: "ranker-progress", hidden: true },
    h("progress", { "aria-label": t("rankerTrying") }), h("p", { class: "hint" }, t("rankerTrying")));

  const tryButton = h("fluent-button", { appearance: "primary", id: "ranker-try" }, t("backtestRun"));
  tryButton.addEventListener("click", () => {
    const proposal = {};
    for (const [name, input] of inputs) {
      if (input.value.trim() !== "") proposal[name] = Number(input.value);
    }
    if (!Object.keys(proposal).length) {
      say(t("rankerNothing"));
      inputs.values().next().value.focus();
      return;
    }
    tryOut(proposal, { weights: proposal }, t("rankerApplied"));
  });
  const resetButton = h("fluent-button", { id: "ranker-reset" }, t("rankerReset"));
  resetButton.addEventListener("click", () => {
    const starting = Object.fromEntries(ranker.features.map((f) => [f.name, f.starting_weight]));
    tryOut(starting, { reset: true }, t("rankerResetDone"));
  });
  const undoButton = h("fluent-button", { id: "ranker-undo", disabled: ranker.previous === null }, t("changeUndo"));
  undoButton.addEventListener("click", async () => {
    undoButton.disabled = true;
    try {
      await withSignIn(() => api.postJson(`${RANKER}/undo`, {}));
      await redraw();
      say(t("rankerUndone"));
      document.getElementById("ranker-undo")?.focus();
    } catch (error) {
      undoButton.disabled = false;
      showError(error);
    }
  });

  /** Backtests `weights`, and offers "Slå til" with `apply` (the body of the PUT). */
  async function tryOut(weights, apply, done) {
    clearFieldErrors();
    for (const button of [tryButton, resetButton]) button.disabled = true;
    progress.hidden = false;
    result.replaceChildren();
    try {
      const answer = await withSignIn(() => api.postJson("/api/v1/admin/backtest", { change: { ranker_weights: weights }, limit: FILINGS }));
      result.replaceChildren(...comparison(answer), ...applying(apply, done));
      say(t("backtestDone", { n: answer.examined }));
    } catch (error) {
      if (!showFieldError(error)) showError(error);
    } finally {
      for (const button of [tryButton, resetButton]) button.disabled = false;
      progress.hidden = true;
    }
  }

  function clearFieldErrors() {
    for (const error of document.querySelectorAll("#ranker-form .field-error")) {
      error.hidden = true;
      error.textContent = "";
    }
  }

  /** A wrong weight, as the server names it (`change.ranker_weights.<feature>`), beside its field. */
  function showFieldError(error) {
    const name = error instanceof ApiError && error.field?.replace(/^change\.ranker_weights\./, "");
    const input = name && inputs.get(name);
    if (!input) return false;
    const message = document.getElementById(`weight-${name}-error`);
    message.textContent = t("fieldWrong", { reason: error.reason ?? error.message });
    message.hidden = false;
    input.focus();
    return true;
  }

  const state = ranker.pinned ? "rankerPinned" : "rankerLearning";
  const changed = ranker.updated_by && ranker.updated_by !== "system"
    ? [h("p", { class: "hint", id: "ranker-changed" }, t("rankerChangedBy", { who: ranker.updated_by, when: when(ranker.updated_at) }))]
    : [];
  return [
    h("p", {}, t("rankerIntro")),
    h("p", { class: "hint", id: "ranker-state" }, t(state, { n: number(ranker.updates) })),
    ...changed,
    h("form", { id: "ranker-form", onsubmit: (event) => event.preventDefault() },
      table(t("adminRanker"), columns, rows, (i) => ({ "data-feature": ranker.features[i].name })),
      h("div", { class: "actions" }, tryButton, resetButton, undoButton)),
    progress,
    result,
  ];
}

function weight(value) {
  const locale = currentLanguage() === "da" ? "da-DK" : "en-GB";
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 3 }).format(value);
}

async function redraw() {
  document.getElementById("section").replaceChildren(...(await rankerPage()));
}

/** "Slå til" for the weights just tried: `apply` is the change as the ranker takes it. */
function applying(apply, done) {
  const button = h("fluent-button", { appearance: "primary", id: "ranker-apply" }, t("changeApply"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await withSignIn(() => api.putJson(RANKER, apply));
      await redraw();
      say(done);
      document.getElementById("ranker-undo")?.focus();
    } catch (error) {
      button.disabled = false;
      showError(error);
    }
  });
  return [h("p", { class: "hint" }, t("rankerApplyHint")), button];
}

function comparison(answer) {
  const rows = [
    ["top1", t("top1"), (s) => share(s.top1)],
    ["top3", t("top3"), (s) => share(s.top3)],
  ];
  const figures = figuresTodayAndAfter(rows, answer);
  const place = (p) => (p === null ? t("rankerNotShown") : number(p));
  const moved = answer.changed.length
    ? table(t("rankerMoved", { n: answer.changed_count }),
      [{ label: t("filingCase") }, { label: t("rankerPlaceToday"), numeric: true }, { label: t("rankerPlaceAfter"), numeric: true }],
      answer.changed.map((c) => [c.case_id, place(c.place_today), place(c.place_after)]),
      (i) => ({ "data-filing-id": answer.changed[i].filing_id }))
    : h("p", { class: "hint" }, t("backtestNothingChanges"));
  const skipped = answer.skipped ? [h("p", { class: "hint", id: "ranker-skipped" }, t("rankerSkipped", { n: number(answer.skipped) }))] : [];
  return [
    h("p", { class: "hint" }, t("backtestExamined", { n: number(answer.examined) })),
    ...skipped,
    figures,
    h("h2", {}, t("rankerMoved", { n: answer.changed_count })),
    moved,
  ];
}
