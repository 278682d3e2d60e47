// The console's backtest: a confidence threshold for the organisation, one watched mailbox or
// one unit, tried on the latest filings people made after seeing suggestions, beside today's
// setting: top-1, top-3, how many would have been filed by themselves and how many of those
// wrongly, and the filings that would change.

import { api, h, say, showError, t, withSignIn } from "./app.js";
import { number, share, table } from "./admin-parts.js";

const DEFAULT_FILINGS = 2000;

export async function backtest() {
  const field = (id, label, attributes) => h("div", { class: "form-row" },
    h("label", { for: id }, label), h("input", { id, ...attributes }));
  const run = h("fluent-button", { appearance: "primary", id: "backtest-run" }, t("backtestRun"));
  const progress = h("div", { id: "backtest-progress", hidden: true },
    h("progress", { "aria-label": t("backtestRunning") }), h("p", { class: "hint" }, t("backtestRunning")));
  const result = h("div", { id: "backtest-result" });
  const form = h("form", { id: "backtest-form", onsubmit: (event) => event.preventDefault() },
    field("backtest-threshold", t("backtestThreshold"), { type: "number", min: "0.5", max: "1", step: "0.01", value: "0.9" }),
    field("backtest-mailbox", t("backtestMailbox"), { type: "text" }),
    field("backtest-group", t("backtestGroup"), { type: "text" }),
    field("backtest-limit", t("backtestLimit"), { type: "number", min: "1", max: "10000", value: String(DEFAULT_FILINGS) }),
    run);
  run.addEventListener("click", async () => {
    const value = (id) => document.getElementById(id).value.trim();
    const change = {
      confidence_threshold: value("backtest-threshold") ? Number(value("backtest-threshold")) : null,
      mailbox: value("backtest-mailbox") || null,
      group: value("backtest-group") || null,
    };
    run.disabled = true;
    progress.hidden = false;
    result.replaceChildren();
    try {
      const answer = await withSignIn(() => api.postJson("/api/v1/admin/backtest", { change, limit: Number(value("backtest-limit")) || DEFAULT_FILINGS }));
      result.replaceChildren(...columns(answer));
      say(t("backtestDone", { n: answer.examined }));
    } catch (error) {
      showError(error);
    } finally {
      run.disabled = false;
      progress.hidden = true;
    }
  });
  return [h("p", {}, t("backtestIntro")), form, progress, result];
}

function columns(answer) {
  const setting = (side) => (side.confidence_threshold === null ? t("backtestOff") : share(side.confidence_threshold));
  const rows = [
    ["confidence_threshold", t("backtestThreshold"), setting],
    ["top1", t("top1"), (s) => share(s.top1)],
    ["top3", t("top3"), (s) => share(s.top3)],
    ["auto_filed", t("autoFiledCount"), (s) => number(s.auto_filed)],
    ["share_auto_filed", t("backtestShare"), (s) => share(s.share_auto_filed)],
    ["wrong", t("backtestWrong"), (s) => number(s.wrong)],
  ];
  const figures = table(t("backtestCompare"),
    [{ label: t("backtestFigure") }, { label: t("backtestToday"), numeric: true, key: "today" }, { label: t("backtestAfter"), numeric: true, key: "after" }],
    rows.map(([, label, format]) => [label, format(answer.today), format(answer.after)]),
    (i) => ({ "data-figure": rows[i][0] }));
  const changed = answer.changed.length
    ? table(t("backtestChanged", { n: answer.changed_count }),
      [{ label: t("filingCase") }, { label: t("bucket"), numeric: true }, { label: t("backtestRight") }, { label: t("backtestBecomes") }],
      answer.changed.map((c) => [c.case_id, share(c.confidence), c.first_was_right ? t("yes") : t("no"),
        c.auto_filed_after ? t("backtestNowAuto") : t("backtestNowPerson")]),
      (i) => ({ "data-filing-id": answer.changed[i].filing_id }))
    : h("p", { class: "hint" }, t("backtestNothingChanges"));
  return [
    h("p", { class: "hint" }, t("backtestExamined", { n: answer.examined })),
    figures,
    h("h2", {}, t("backtestChanged", { n: answer.changed_count })),
    changed,
    h("p", { class: "hint" }, t("backtestApply")),
  ];
}
