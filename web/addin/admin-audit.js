// The console's audit page: the audit log with its filters and its CSV and JSON Lines exports,
// and one filing's whole history on one screen (`/admin/audit?filing=ID`): the filing as it
// stands, the automatic decision with its evidence, then every event from acceptance through
// deliveries, retries and undo.

import { api, h, showError, t, withSignIn } from "./app.js";
import { token } from "./api.js";
import { table, when } from "./admin-parts.js";
import { formatPercent } from "./i18n.js";

const KINDS = [
  "filing_accepted", "filing_duplicate", "filing_delivered", "filing_retry_scheduled", "filing_failed",
  "filing_requeued", "filing_withdrawn", "withdrawal_settled", "ranker_changed", "cases_synced",
  "cases_imported", "rule_changed", "review_queued", "review_changed", "thread_follow_changed", "case_ordered",
  "case_created", "case_creation_failed", "setting_changed",
];
const FILTERS = [["kind", "auditKind"], ["actor", "auditActor"], ["case_id", "filingCase"], ["filing_id", "auditFiling"]];
const SHOWN = 100;

const chosen = {};

export async function audit() {
  const filing = new URLSearchParams(location.search).get("filing");
  return filing ? history(filing) : log();
}

function query(extra = {}) {
  const params = new URLSearchParams();
  for (const [key] of FILTERS) if (chosen[key]) params.set(key, chosen[key]);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params;
}

async function log() {
  const answer = await withSignIn(() => api.get(`/api/v1/admin/audit?${query({ limit: SHOWN, order: "newest" })}`));
  const inputs = FILTERS.map(([key, label]) => {
    const id = `audit-${key}`;
    const input = key === "kind"
      ? h("select", { id }, h("option", { value: "" }, t("auditAllKinds")),
        ...KINDS.map((k) => h("option", { value: k, selected: chosen.kind === k }, t(`kind_${k}`))))
      : h("input", { type: "text", id, value: chosen[key] ?? "" });
    input.addEventListener("change", () => { chosen[key] = input.value.trim(); });
    return h("div", { class: "form-row" }, h("label", { for: id }, t(label)), input);
  });
  const show = h("fluent-button", { appearance: "primary", id: "audit-show" }, t("qualityShow"));
  show.addEventListener("click", async () => {
    document.getElementById("section").replaceChildren(...(await log()));
  });
  const exports = ["csv", "jsonl"].map((format) => {
    const button = h("fluent-button", { id: `audit-export-${format}` }, t("auditExport", { format: format.toUpperCase() }));
    button.addEventListener("click", () => download(format).catch((error) => showError(error)));
    return button;
  });
  const rows = answer.events.map((e) => [
    when(e.at), e.actor, t(`kind_${e.kind}`), e.case_id ?? "",
    e.filing_id ? h("a", { href: `/admin/audit?filing=${encodeURIComponent(e.filing_id)}`, "data-history": e.filing_id }, t("auditHistory")) : "",
  ]);
  return [
    h("form", { class: "quality-filters", onsubmit: (event) => event.preventDefault() }, ...inputs, show),
    h("div", { class: "actions" }, ...exports),
    table(t("adminAudit"),
      [{ label: t("auditWhen") }, { label: t("auditActor") }, { label: t("auditKind") }, { label: t("filingCase") }, { label: t("auditFiling") }],
      rows, (i) => ({ "data-event-id": answer.events[i].id })),
    answer.truncated ? h("p", { class: "hint" }, t("auditTruncated", { n: SHOWN })) : "",
  ];
}

/** The export with the token, handed to the browser as a file. */
async function download(format) {
  const response = await fetch(`/api/v1/admin/audit?${query({ format, limit: 10000 })}`, {
    headers: { Authorization: `Bearer ${await token()}` },
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: `audit.${format}` });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

async function history(filingId) {
  const filing = await withSignIn(() => api.get(`/api/v1/filings/${encodeURIComponent(filingId)}`));
  const answer = await withSignIn(() => api.get(`/api/v1/admin/audit?filing_id=${encodeURIComponent(filingId)}&order=oldest&limit=1000`));
  const facts = [
    [t("filingTitle"), filing.title],
    [t("filingCase"), filing.case_id],
    [t("auditState"), t(`state_${filing.state}`)],
    [t("auditDocument"), filing.target_document_id ?? t("none")],
    [t("auditDecision"), filing.automatic
      ? t("auditAutomatic", { why: t(`because_${filing.automatic.evidence}`, { rule: filing.automatic.rule?.name ?? "", pct: formatPercent(filing.automatic.confidence ?? 0) }) })
      : t("auditByPerson", { who: filing.created_by ?? "" })],
  ];
  if (filing.withdrawal) facts.push([t("withdrawnState"), `${when(filing.withdrawal.at)}, ${filing.withdrawal.by}: ${filing.withdrawal.reason ?? ""}`]);
  const steps = answer.events.map((e) => h("li", { class: "history-step", "data-kind": e.kind },
    h("p", { class: "result" }, `${when(e.at)} · ${t(`kind_${e.kind}`)}`),
    h("p", { class: "hint" }, `${t("auditActor")}: ${e.actor}`),
    describe(e.details)));
  return [
    h("p", {}, h("a", { href: "/admin/audit", "data-section-link": "audit" }, t("auditBack"))),
    h("dl", { class: "facts", id: "history-facts" }, ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h2", { id: "history-heading" }, t("auditSteps", { n: answer.events.length })),
    h("ol", { class: "history", "aria-labelledby": "history-heading" }, ...steps),
  ];
}

/** An event's details, as short "name: value" lines; nested values as JSON. */
function describe(details) {
  const entries = Object.entries(details ?? {}).filter(([, v]) => v !== null && v !== undefined && v !== "");
  if (!entries.length) return "";
  return h("ul", { class: "details" }, ...entries.map(([k, v]) => h("li", {}, `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`)));
}
