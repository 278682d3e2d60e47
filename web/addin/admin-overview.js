// The console's overview: each connector's filings of the last 24 hours and 7 days, the
// failed filings with "Prøv igen", and each watched mailbox's progress.

import { api, h, say, showError, t, withSignIn } from "./app.js";
import { number, table, when } from "./admin-parts.js";

const STATES = ["queued", "filed", "failed", "withdrawn"];
const STATE_WORDS = { queued: "queued", filed: "filedState", failed: "failedState", withdrawn: "withdrawnState" };

export async function overview() {
  const answer = await withSignIn(() => api.get("/api/v1/admin/overview"));
  return [connectors(answer.connectors), ...failed(answer.failed), ...mailboxes(answer.mailboxes)];
}

function connectors(list) {
  const columns = [
    { label: t("connector") },
    ...["last24h", "last7d"].flatMap((period) => STATES.map((state) => ({
      label: `${t(STATE_WORDS[state])}, ${t(period)}`, numeric: true, key: `${period === "last24h" ? "day" : "week"}-${state}`,
    }))),
    { label: t("oldestQueued"), key: "oldest-queued" },
    { label: t("lastSuccess"), key: "last-success" },
    { label: t("lastError"), key: "last-error" },
  ];
  const rows = list.map((c) => [
    c.connector,
    ...["day", "week"].flatMap((period) => STATES.map((state) => number(c[period][state]))),
    c.oldest_queued ? when(c.oldest_queued) : t("none"),
    when(c.last_success),
    c.last_error ? t("errorAt", { time: when(c.last_error.at), message: c.last_error.message }) : t("none"),
  ]);
  return h("section", { "aria-labelledby": "connectors-heading" },
    h("h2", { id: "connectors-heading" }, t("connectorsHeading")),
    table(t("connectorsHeading"), columns, rows, (i) => ({ "data-connector": list[i].connector })),
    syncButton());
}

/** "Synkronisér nu": every connector that can list its cases, now; what each said. */
export function syncButton() {
  const result = h("ul", { id: "sync-result", "aria-live": "polite" });
  const button = h("fluent-button", { id: "sync-now" }, t("syncNow"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    say(t("syncing"));
    try {
      const answer = await withSignIn(() => api.postJson("/api/v1/admin/sync", null));
      result.replaceChildren(...answer.connectors.map((c) => h("li", { "data-connector": c.connector },
        c.error ? t("syncFailed", { connector: c.connector, error: c.error })
          : t("synced", { connector: c.connector, listed: c.listed, changed: c.changed, rejected: c.rejected }))));
      say(answer.connectors.length ? t("syncDone") : t("syncNothing"));
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "block" }, button, result);
}

function failed(list) {
  const heading = h("h2", { id: "failed-heading" }, t("failedHeading"));
  if (!list.length) return [heading, h("p", { class: "hint", id: "no-failed" }, t("noFailed"))];
  const columns = [
    { label: t("filingTitle") }, { label: t("filingCase") }, { label: t("filingWhen") },
    { label: t("filingError") }, { label: "" },
  ];
  const rows = list.map((f) => [f.title, f.case_id, when(f.created_at), f.error ?? "", retryButton(f)]);
  columns[4].label = t("retryFiling");
  return [heading, table(t("failedHeading"), columns, rows, (i) => ({ "data-filing-id": list[i].id }))];
}

function retryButton(filing) {
  const button = h("fluent-button", { appearance: "primary", "aria-label": t("retryFilingLabel", { title: filing.title }) }, t("retryFiling"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await withSignIn(() => api.postJson(`/api/v1/admin/filings/${encodeURIComponent(filing.id)}/retry`, null));
      const row = button.closest("tr");
      row.dataset.retried = "true";
      button.replaceWith(h("span", { class: "retried" }, t("queued")));
      say(t("retried", { title: filing.title }));
    } catch (error) {
      button.disabled = false;
      showError(error);
    }
  });
  return button;
}

function mailboxes(list) {
  const heading = h("h2", { id: "mailboxes-heading" }, t("mailboxesHeading"));
  if (!list.length) return [heading, h("p", { class: "hint" }, t("noMailboxes"))];
  const columns = [
    { label: t("mailbox") }, { label: t("lastLook"), key: "last-look" }, { label: t("lastTaken") },
    { label: t("backlog"), numeric: true }, { label: t("autoFiled"), numeric: true },
    { label: t("inReview"), numeric: true }, { label: t("lastError"), key: "last-error" },
  ];
  const rows = list.map((m) => [
    m.name, when(m.last_look), when(m.last_taken), number(m.backlog),
    number(m.auto_filed), number(m.in_review),
    m.last_error ? t("errorAt", { time: when(m.last_error.at), message: m.last_error.message }) : t("none"),
  ]);
  return [heading, table(t("mailboxesHeading"), columns, rows, (i) => ({ "data-mailbox": list[i].name }))];
}
