// The backtest of a rule: a new rule or one of today's changed, written as the rules API takes
// it (JSON, "id" naming the rule it changes), with what is wrong said beside the field; the
// latest items decided again under today's rules and under the change, and the items that
// would end up otherwise.

import { api, ApiError, h, t, withSignIn } from "./app.js";
import { figuresTodayAndAfter, number, share, table } from "./admin-parts.js";

const NEW_RULE = {
  name: "",
  order: 10,
  when: { from: "" },
  then: { action: "file", case_id: "" },
};

/** Today's rules, to pick one to change. */
let rules = [];

/** The form's rule fields, to pick a rule of today's and write the rule as JSON. */
export async function ruleFields() {
  const pick = h("select", { id: "backtest-rule-base" });
  await pickable(pick);
  const text = h("textarea", { id: "backtest-rule-json", rows: "12", spellcheck: "false", "aria-describedby": "backtest-rule-json-error" });
  const fill = () => {
    const rule = rules.find((r) => r.id === pick.value);
    const { version, ...spec } = rule ?? NEW_RULE;
    text.value = JSON.stringify(spec, null, 2);
    showRuleError(null);
  };
  pick.addEventListener("change", fill);
  const fields = h("div", { id: "backtest-rule-fields", hidden: true },
    h("div", { class: "form-row" }, h("label", { for: "backtest-rule-base" }, t("backtestRuleBase")), pick),
    h("div", { class: "form-row wide" },
      h("label", { for: "backtest-rule-json" }, t("backtestRuleJson")), text,
      h("p", { class: "field-error", id: "backtest-rule-json-error", hidden: true })));
  fill();
  return fields;
}

/** Today's rules as the choices of `pick`, the one chosen kept where it is still in force. */
async function pickable(pick) {
  ({ rules } = await withSignIn(() => api.get("/api/v1/admin/rules")));
  const chosen = pick.value;
  pick.replaceChildren(h("option", { value: "" }, t("backtestRuleNew")),
    ...rules.map((rule) => h("option", { value: rule.id, selected: rule.id === chosen }, rule.name)));
}

/** Reads today's rules again after a change was switched on or undone. */
export async function rulesChanged() {
  const pick = document.getElementById("backtest-rule-base");
  if (pick) await pickable(pick);
}

/** The rule written in the form, or `null` with the reason beside it when it is no JSON object. */
export function ruleWritten() {
  const text = document.getElementById("backtest-rule-json");
  try {
    const rule = JSON.parse(text.value);
    if (rule && typeof rule === "object" && !Array.isArray(rule)) {
      showRuleError(null);
      return rule;
    }
    showRuleError(t("backtestRuleNotObject"));
  } catch (error) {
    showRuleError(t("backtestRuleBadJson", { message: error.message }));
  }
  return null;
}

/** Says beside the rule's field what the server found wrong; false when the error is another. */
export function ruleRefused(error) {
  if (!(error instanceof ApiError && error.field)) return false;
  const field = error.field === "change.rule" ? "" : `${error.field}: `;
  showRuleError(t("fieldWrong", { reason: `${field}${error.reason ?? error.message}` }));
  return true;
}

function showRuleError(message) {
  const error = document.getElementById("backtest-rule-json-error");
  if (!error) return;
  error.textContent = message ?? "";
  error.hidden = !message;
  if (message) document.getElementById("backtest-rule-json").focus();
}

/** What became of an item, in words. */
function outcome(handled) {
  if (handled.outcome === "filed") return t("outcomeFiled", { case: handled.case_id });
  if (handled.outcome === "review") return t("outcomeReview", { queue: handled.queue });
  return t("outcomeLeft");
}

/** The comparison of a rule's backtest, and the items that would end up otherwise. */
export function ruleColumns(answer) {
  const rows = [
    ["auto_filed", t("autoFiledCount"), (s) => number(s.auto_filed)],
    ["sent_to_review", t("backtestReview"), (s) => number(s.sent_to_review)],
    ["share_auto_filed", t("backtestShare"), (s) => share(s.share_auto_filed)],
    ["wrong", t("backtestWrong"), (s) => number(s.wrong)],
  ];
  const figures = figuresTodayAndAfter(rows, answer);
  const changed = answer.changed.length
    ? table(t("backtestItemsChanged", { n: answer.changed_count }),
      [{ label: t("backtestSubject") }, { label: t("backtestToday"), key: "before" }, { label: t("backtestAfter"), key: "after" }, { label: t("backtestChosen"), key: "chosen" }],
      answer.changed.map((c) => [c.subject || c.item_id, outcome(c.before), outcome(c.after), c.chosen_case_id ?? t("none")]),
      (i) => ({ "data-item-id": answer.changed[i].item_id }))
    : h("p", { class: "hint" }, t("backtestNothingChanges"));
  return [
    h("p", { class: "hint" }, t("backtestRuleExamined", { n: answer.examined, matched: answer.matched })),
    figures,
    h("h2", {}, t("backtestItemsChanged", { n: answer.changed_count })),
    changed,
  ];
}

/** A rule's side of a change in the list: the rule then, or none. */
export function ruleSide(rule) {
  if (!rule) return t("changeNoRule");
  const target = rule.then.case_id ?? rule.then.queue ?? "";
  return t("changeRuleSide", { version: number(rule.version), action: t(`action_${rule.then.action}`), target });
}

/** The rule a change is about, by the name it has after it (or had before). */
export function ruleWhere(change) {
  return t("changeRule", { name: change.after?.name ?? change.before?.name ?? change.target });
}
