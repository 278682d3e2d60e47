// The console's cases and connectors page: a file of cases (CSV or JSON, as for
// `journaliser import cases`) is first tried without writing anything, and its rows are shown
// with what each would do or what is wrong with it, in words; "Importér" is open only when no
// row is wrong. Below, every configured connector with what it can do and its settings
// (secrets as •••), and "Synkronisér nu".

import { api, ApiError, h, say, showError, t, withSignIn } from "./app.js";
import { number, table } from "./admin-parts.js";
import { syncButton } from "./admin-overview.js";

/** Rows shown besides every wrong one: a large file's preview stays quick to read. */
const SHOWN_ROWS = 200;
const CAPABILITIES = [["list_cases", "capListCases"], ["read_case", "capReadCase"], ["withdraw", "capWithdraw"], ["list_documents", "capListDocuments"]];

export async function casesPage() {
  const answer = await withSignIn(() => api.get("/api/v1/admin/connectors"));
  return [h("p", {}, t("casesIntro")), importer(answer.connectors), connectorList(answer.connectors)];
}

function importer(connectors) {
  const connector = h("select", { id: "import-connector" },
    ...connectors.map((c) => h("option", { value: c.name, selected: c.name === "archive" }, c.name)));
  const file = h("input", { type: "file", id: "import-file", accept: ".csv,.json,.txt,text/csv,application/json", "aria-describedby": "import-format" });
  const preview = h("div", { id: "import-preview" });
  const run = h("fluent-button", { appearance: "primary", id: "import-run", disabled: true }, t("importRun"));
  let chosen = null;

  const send = (dryRun) => {
    const params = new URLSearchParams({ connector: connector.value });
    if (dryRun) params.set("dry_run", "true");
    const type = /\.json$/i.test(chosen.name) ? "application/json" : "text/csv";
    return withSignIn(async () => api.postBytes(`/api/v1/admin/cases/import?${params}`, await chosen.arrayBuffer(), type));
  };
  const tryFile = async () => {
    run.disabled = true;
    preview.replaceChildren();
    if (!chosen) return;
    say(t("importChecking", { file: chosen.name }));
    try {
      const report = await send(true);
      preview.replaceChildren(...rows(report, true));
      run.disabled = report.counts.errors > 0;
      say(report.counts.errors ? t("importHasErrors", { errors: report.counts.errors }) : t("importReady", counts(report)));
    } catch (error) {
      showError(error);
    }
  };
  file.addEventListener("change", () => {
    chosen = file.files[0] ?? null;
    tryFile();
  });
  connector.addEventListener("change", tryFile);
  run.addEventListener("click", async () => {
    if (run.disabled || !chosen) return;
    run.disabled = true;
    say(t("importing"));
    try {
      const report = await send(false);
      preview.replaceChildren(...rows(report, false));
      say(t("importDone", counts(report)));
    } catch (error) {
      // Someone changed the cases since the check: the rows say what is wrong now.
      if (error instanceof ApiError && error.code === "invalid_rows" && error.body?.rows) {
        preview.replaceChildren(...rows(error.body, true));
        say(t("importHasErrors", { errors: error.body.counts.errors }));
      } else showError(error);
    }
  });

  return h("section", { "aria-labelledby": "import-heading" },
    h("h2", { id: "import-heading" }, t("importHeading")),
    h("form", { id: "import-form", onsubmit: (event) => event.preventDefault() },
      h("div", { class: "form-row" }, h("label", { for: "import-connector" }, t("importConnector")), connector),
      h("div", { class: "form-row" }, h("label", { for: "import-file" }, t("importFile")), file,
        h("p", { class: "hint", id: "import-format" }, t("importFormat")))),
    preview,
    h("div", { class: "actions" }, run));
}

function counts(report) {
  return { rows: report.counts.rows, new: report.counts.new, changed: report.counts.changed, unchanged: report.counts.unchanged };
}

/** The summary and the rows of a report; `preview` when nothing was written. */
function rows(report, preview) {
  const { counts: c } = report;
  const summary = h("p", { class: "result", id: "import-summary" },
    t(preview ? "importPreview" : "importResult", { rows: number(c.rows), new: number(c.new), changed: number(c.changed), unchanged: number(c.unchanged), errors: number(c.errors) }));
  const shown = report.rows.filter((r, i) => r.outcome === "error" || i < SHOWN_ROWS);
  const columns = [{ label: t("importRow"), numeric: true }, { label: t("importCase") }, { label: t("importOutcome") }];
  const cells = shown.map((r) => [
    number(r.row),
    r.case_id ?? "",
    r.outcome === "error"
      ? h("span", { class: "field-error", id: `import-error-${r.row}` }, rowError(r.error))
      : t(`outcome_${r.outcome}`),
  ]);
  const list = table(t("importHeading"), columns, cells, (i) => ({
    "data-row": shown[i].row, "data-outcome": shown[i].outcome, class: shown[i].outcome === "error" ? "row-error" : null,
  }));
  const more = shown.length < report.rows.length ? h("p", { class: "hint" }, t("importMore", { n: number(report.rows.length - shown.length) })) : "";
  const fix = c.errors ? h("p", { class: "hint", id: "import-fix" }, t("importFix")) : "";
  return [summary, fix, list, more];
}

/** A row's error in the page's words, with the server's own beside it when there are none. */
function rowError(error) {
  const key = `importError_${error.code}`;
  const words = t(key, error);
  return words === key ? error.message : words;
}

function connectorList(connectors) {
  const columns = [{ label: t("connectorName") }, { label: t("connectorKind") }, { label: t("connectorCan") }, { label: t("connectorSettings") }];
  const cells = connectors.map((c) => [
    c.name,
    t(`kind_connector_${c.kind}`) === `kind_connector_${c.kind}` ? c.kind : t(`kind_connector_${c.kind}`),
    abilities(c),
    settings(c.settings),
  ]);
  return h("section", { "aria-labelledby": "connectors-list-heading" },
    h("h2", { id: "connectors-list-heading" }, t("connectorsListHeading")),
    table(t("connectorsListHeading"), columns, cells, (i) => ({ "data-connector": connectors[i].name })),
    h("p", { class: "hint" }, t("secretsHidden")),
    syncButton());
}

function abilities(connector) {
  const can = CAPABILITIES.filter(([key]) => connector.capabilities?.[key]).map(([, label]) => t(label));
  if (connector.creates_cases) can.push(t("capCreateCases"));
  can.unshift(t("capFile"));
  return h("ul", { class: "plain" }, ...can.map((c) => h("li", {}, c)));
}

/** Settings as "name: value" lines; nested ones (columns, headers) as their own lines. */
function settings(values) {
  const lines = [];
  const walk = (prefix, value) => {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) walk(prefix ? `${prefix}.${key}` : key, inner);
    } else if (value !== "" && value !== null && !(Array.isArray(value) && !value.length)) {
      lines.push([prefix, Array.isArray(value) ? value.join(", ") : String(value)]);
    }
  };
  walk("", values);
  return h("dl", { class: "settings" }, ...lines.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}
