// The console's backtest: a confidence threshold for the organisation, one watched mailbox or
// one unit, tried on the latest filings people made after seeing suggestions, beside today's
// setting: top-1, top-3, how many would have been filed by themselves and how many of those
// wrongly, and the filings that would change; or a rule (admin-backtest-rule.js). "Slå til"
// then applies the change tried, and the changes applied are listed, each with "Fortryd
// ændring", which brings back what was there before it.

import { api, h, say, showError, t, withSignIn } from "./app.js";
import { figuresTodayAndAfter, number, share, table, when } from "./admin-parts.js";
import { ruleColumns, ruleFields, ruleRefused, rulesChanged, ruleSide, ruleWhere, ruleWritten } from "./admin-backtest-rule.js";

const DEFAULT_FILINGS = 2000;

/** Draws the backtest shown again, so that its "today" follows a change; none before one ran. */
let showAgain = null;

export async function backtest() {
  showAgain = null;
  const field = (id, label, attributes) => h("div", { class: "form-row" },
    h("label", { for: id, id: `${id}-label` }, label), h("input", { id, ...attributes }));
  const kind = (value, label) => h("label", { class: "choice" },
    h("input", { type: "radio", name: "backtest-kind", id: `backtest-kind-${value}`, value, checked: value === "threshold" }), label);
  const kinds = h("fieldset", { class: "choices" }, h("legend", {}, t("backtestKind")),
    kind("threshold", t("backtestKindThreshold")), kind("rule", t("backtestKindRule")));
  const thresholdFields = h("div", { id: "backtest-threshold-fields" },
    field("backtest-threshold", t("backtestThreshold"), { type: "number", min: "0.5", max: "1", step: "0.01", value: "0.9" }),
    field("backtest-mailbox", t("backtestMailbox"), { type: "text" }),
    field("backtest-group", t("backtestGroup"), { type: "text" }));
  const rulesFields = await ruleFields();
  const chosen = () => (document.getElementById("backtest-kind-rule").checked ? "rule" : "threshold");
  kinds.addEventListener("change", () => {
    thresholdFields.hidden = chosen() === "rule";
    rulesFields.hidden = chosen() !== "rule";
    document.getElementById("backtest-limit-label").textContent = t(chosen() === "rule" ? "backtestItems" : "backtestLimit");
  });
  const run = h("fluent-button", { appearance: "primary", id: "backtest-run" }, t("backtestRun"));
  const progress = h("div", { id: "backtest-progress", hidden: true },
    h("progress", { "aria-label": t("backtestRunning") }), h("p", { class: "hint" }, t("backtestRunning")));
  const result = h("div", { id: "backtest-result" });
  const changes = h("section", { id: "changes", "aria-labelledby": "changes-heading" });
  const form = h("form", { id: "backtest-form", onsubmit: (event) => event.preventDefault() },
    kinds, thresholdFields, rulesFields,
    field("backtest-limit", t("backtestLimit"), { type: "number", min: "1", max: "10000", value: String(DEFAULT_FILINGS) }),
    run);
  run.addEventListener("click", async () => {
    const value = (id) => document.getElementById(id).value.trim();
    let change;
    if (chosen() === "rule") {
      const rule = ruleWritten();
      if (!rule) return;
      change = { rule };
    } else {
      change = {
        confidence_threshold: value("backtest-threshold") ? Number(value("backtest-threshold")) : null,
        mailbox: value("backtest-mailbox") || null,
        group: value("backtest-group") || null,
      };
    }
    const limit = Number(value("backtest-limit")) || DEFAULT_FILINGS;
    run.disabled = true;
    progress.hidden = false;
    result.replaceChildren();
    try {
      const answer = await tryOut(change, limit, result, changes);
      say(t(change.rule ? "backtestRuleDone" : "backtestDone", { n: answer.examined }));
    } catch (error) {
      if (!(change.rule && ruleRefused(error))) showError(error);
    } finally {
      run.disabled = false;
      progress.hidden = true;
    }
  });
  await drawChanges(changes);
  return [h("p", {}, t("backtestIntro")), form, progress, result, changes];
}

/** Backtests `change` and draws the comparison, with "Slå til" for it. */
async function tryOut(change, limit, result, changes) {
  const answer = await withSignIn(() => api.postJson("/api/v1/admin/backtest", { change, limit }));
  result.replaceChildren(...(change.rule ? ruleColumns(answer) : columns(answer)), ...applying(change, changes));
  showAgain = () => tryOut(change, limit, result, changes);
  return answer;
}

/** "Slå til" for the change just tried: the same change, not what the form says by now. */
function applying(change, changes) {
  const apply = h("fluent-button", { appearance: "primary", id: "backtest-apply" }, t("changeApply"));
  apply.addEventListener("click", async () => {
    apply.disabled = true;
    try {
      const applied = await withSignIn(() => api.postJson("/api/v1/admin/changes", { change }));
      await drawChanges(changes);
      await rulesChanged();
      await showAgain?.();
      say(t(applied.scope === "rule" ? "changeRuleApplied" : "changeApplied", { version: applied.version, where: where(applied), value: value(applied.after, applied) }));
    } catch (error) {
      showError(error);
    } finally {
      apply.disabled = false;
      (document.getElementById("backtest-apply") ?? apply).focus();
    }
  });
  return [h("p", { class: "hint" }, t(change.rule ? "changeApplyRuleHint" : "changeApplyHint")), apply];
}

function where(change) {
  if (change.scope === "rule") return ruleWhere(change);
  if (change.scope === "mailbox") return t("changeMailbox", { name: change.target });
  if (change.scope === "group") return t("changeGroup", { name: change.target });
  return t("changeOrganisation");
}

/** One side of `change`: a threshold, or the rule then. */
function value(side, change) {
  if (change.scope === "rule") return ruleSide(side);
  const threshold = side.confidence_threshold === null ? t("backtestOff") : share(side.confidence_threshold);
  return side.configured ? t("changeConfigured", { value: threshold }) : threshold;
}

/** The changes applied, newest first, each with "Fortryd ændring". */
async function drawChanges(container) {
  const answer = await withSignIn(() => api.get("/api/v1/admin/changes"));
  const heading = h("h2", { id: "changes-heading" }, t("changesHeading"));
  if (!answer.changes.length) {
    container.replaceChildren(heading, h("p", { class: "hint" }, t("changesNone")));
    return;
  }
  const columns = [
    { label: t("changeVersion"), numeric: true }, { label: t("changeWhere") }, { label: t("changeBefore") },
    { label: t("changeAfter") }, { label: t("auditActor") }, { label: t("auditWhen") }, { label: t("changeUndo") },
  ];
  const rows = answer.changes.map((change) => [
    change.undoes === null ? number(change.version) : t("changeUndoing", { version: number(change.version), undone: number(change.undoes) }),
    where(change), value(change.before, change), value(change.after, change), change.changed_by, when(change.changed_at),
    undoButton(change, container),
  ]);
  container.replaceChildren(heading,
    table(t("changesHeading"), columns, rows, (i) => ({ "data-version": answer.changes[i].version })));
}

function undoButton(change, container) {
  const button = h("fluent-button", { "aria-label": t("changeUndoLabel", { version: change.version }), "data-action": "undo" }, t("changeUndo"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const undone = await withSignIn(() => api.postJson(`/api/v1/admin/changes/${change.version}/undo`, {}));
      await drawChanges(container);
      await rulesChanged();
      await showAgain?.();
      say(t(undone.scope === "rule" ? "changeRuleUndone" : "changeUndone", { version: change.version, where: where(undone), value: value(undone.after, undone) }));
      container.querySelector(`tr[data-version="${undone.version}"] [data-action="undo"]`)?.focus();
    } catch (error) {
      button.disabled = false;
      showError(error);
    }
  });
  return button;
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
  const figures = figuresTodayAndAfter(rows, answer);
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
  ];
}
