// The console's rules page: the routing rules in the order they are tried, each on or off,
// moved by keyboard ("Flyt op"/"Flyt ned") or by dragging; a form that says beside each field
// what the server found wrong with it; and a test of the rule on the latest 500 items.

import { api, ApiError, h, say, showError, t, withSignIn } from "./app.js";
import { number, table } from "./admin-parts.js";

const ACTIONS = ["file", "suggest", "review", "skip"];
/** The form's fields: `[path in the rule, label key, kind]`; other conditions are kept as they are. */
const FIELDS = [
  ["name", "ruleName", "text"],
  ["when.mailbox", "ruleMailbox", "text"],
  ["when.from", "ruleFrom", "list"],
  ["when.subject_contains", "ruleSubjectContains", "list"],
  ["when.subject_regex", "ruleSubjectRegex", "text"],
  ["when.body_contains", "ruleBodyContains", "list"],
  ["then.action", "ruleAction", "action"],
  ["then.case_id", "ruleCase", "text"],
  ["then.queue", "ruleQueue", "text"],
];
const TEST_ITEMS = 500;

let rules = [];

export async function rulesPage() {
  const answer = await withSignIn(() => api.get("/api/v1/admin/rules"));
  rules = [...answer.rules].sort((a, b) => a.order - b.order);
  const add = h("fluent-button", { appearance: "primary", id: "rule-new" }, t("ruleNew"));
  add.addEventListener("click", () => edit(null));
  return [
    h("p", {}, t("rulesIntro")),
    add,
    rules.length ? list() : h("p", { class: "hint" }, t("rulesNone")),
    h("div", { id: "rule-editor" }),
  ];
}

function list() {
  const columns = [
    { label: t("ruleName") }, { label: t("ruleOrder"), numeric: true }, { label: t("ruleEnabled") },
    { label: t("ruleAction") }, { label: t("ruleMove") }, { label: t("ruleChange") },
  ];
  const rows = rules.map((rule, index) => [
    rule.name,
    number(index + 1),
    toggle(rule),
    t(`action_${rule.then.action}`),
    h("span", { class: "actions" },
      moveButton(rule, index, -1, "ruleUp"), moveButton(rule, index, 1, "ruleDown")),
    h("span", { class: "actions" }, button(t("ruleEdit"), rule, () => edit(rule), "edit")),
  ]);
  const wrap = table(t("adminRules"), columns, rows, (i) => ({ "data-rule-id": rules[i].id, draggable: "true" }));
  for (const row of wrap.querySelectorAll("tbody tr")) {
    row.addEventListener("dragstart", (event) => event.dataTransfer.setData("text/plain", row.dataset.ruleId));
    row.addEventListener("dragover", (event) => event.preventDefault());
    row.addEventListener("drop", (event) => {
      event.preventDefault();
      const moved = event.dataTransfer.getData("text/plain");
      const from = rules.findIndex((r) => r.id === moved);
      const to = rules.findIndex((r) => r.id === row.dataset.ruleId);
      if (from >= 0 && to >= 0 && from !== to) reorder(from, to);
    });
  }
  return wrap;
}

function button(label, rule, onClick, kind) {
  const element = h("fluent-button", { "aria-label": `${label}: ${rule.name}`, "data-action": kind }, label);
  element.addEventListener("click", onClick);
  return element;
}

function moveButton(rule, index, step, label) {
  const element = button(t(label), rule, () => reorder(index, index + step), step < 0 ? "up" : "down");
  if (index + step < 0 || index + step >= rules.length) element.disabled = true;
  return element;
}

function toggle(rule) {
  const box = h("input", { type: "checkbox", checked: rule.enabled, "aria-label": `${t("ruleEnabled")}: ${rule.name}`, "data-action": "toggle" });
  box.addEventListener("change", async () => {
    try {
      await save(rule.id, { ...specOf(rule), enabled: box.checked });
      say(t(box.checked ? "ruleOn" : "ruleOff", { name: rule.name }));
    } catch (error) {
      box.checked = !box.checked;
      showError(error);
    }
  });
  return box;
}

function specOf(rule) {
  const { id, version, ...spec } = rule;
  return spec;
}

function save(id, spec) {
  return withSignIn(() => (id
    ? api.putJson(`/api/v1/admin/rules/${encodeURIComponent(id)}`, spec)
    : api.postJson("/api/v1/admin/rules", spec)));
}

/** Moves rule `from` to place `to`; every rule gets its place as its order, ten apart. */
async function reorder(from, to) {
  const moved = [...rules];
  const [rule] = moved.splice(from, 1);
  moved.splice(to, 0, rule);
  try {
    for (const [index, each] of moved.entries()) {
      const order = (index + 1) * 10;
      if (each.order !== order) await save(each.id, { ...specOf(each), order });
    }
    await redraw();
    say(t("ruleMoved", { name: rule.name, place: to + 1 }));
    document.querySelector(`tr[data-rule-id="${CSS.escape(rule.id)}"] [data-action="${to > from ? "down" : "up"}"]:not([disabled])`)?.focus()
      ?? document.querySelector(`tr[data-rule-id="${CSS.escape(rule.id)}"] [data-action="edit"]`)?.focus();
  } catch (error) {
    showError(error);
  }
}

async function redraw() {
  document.getElementById("section").replaceChildren(...(await rulesPage()));
}

function read(rule, path) {
  return path.split(".").reduce((value, key) => value?.[key], rule);
}

/** The form for a rule (a new one when `rule` is null). */
function edit(rule) {
  const editor = document.getElementById("rule-editor");
  const base = rule ? specOf(rule) : { name: "", enabled: true, order: (rules.length + 1) * 10, when: {}, then: { action: "review" } };
  const inputs = new Map();
  const rows = FIELDS.map(([path, label, kind]) => {
    const id = `rule-${path.replace(".", "-")}`;
    const value = read(base, path);
    let input;
    if (kind === "action") {
      input = h("select", { id }, ...ACTIONS.map((a) => h("option", { value: a, selected: a === value }, t(`action_${a}`))));
    } else {
      input = h("input", { type: "text", id, value: Array.isArray(value) ? value.join(", ") : (value ?? "") });
    }
    inputs.set(path, { input, kind });
    const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
    input.setAttribute("aria-describedby", error.id);
    return h("div", { class: "form-row", "data-field": path }, h("label", { for: id }, t(label)), input, error);
  });
  const spec = () => {
    const next = structuredClone(base);
    for (const [path, { input, kind }] of inputs) {
      const [head, key] = path.includes(".") ? path.split(".") : [null, path];
      const holder = head ? (next[head] ??= {}) : next;
      const text = input.value.trim();
      if (kind === "list") {
        const values = text.split(",").map((v) => v.trim()).filter(Boolean);
        if (values.length) holder[key] = values;
        else delete holder[key];
      } else if (text) holder[key] = text;
      else if (head) delete holder[key];
      else holder[key] = "";
    }
    return next;
  };
  const showFieldError = (error) => {
    for (const row of editor.querySelectorAll(".field-error")) {
      row.hidden = true;
      row.textContent = "";
    }
    const target = error instanceof ApiError && error.field && editor.querySelector(`[data-field="${CSS.escape(error.field)}"] .field-error`);
    if (!target) return false;
    target.textContent = t("fieldWrong", { reason: error.reason ?? error.message });
    target.hidden = false;
    target.parentElement.querySelector("input, select").focus();
    return true;
  };
  const saveButton = h("fluent-button", { appearance: "primary", id: "rule-save" }, t("ruleSave"));
  saveButton.addEventListener("click", async () => {
    try {
      const saved = await save(rule?.id, spec());
      say(t("ruleSaved", { name: saved.name, version: saved.version }));
      await redraw();
    } catch (error) {
      if (!showFieldError(error)) showError(error);
    }
  });
  const result = h("div", { id: "rule-test-result", "aria-live": "polite" });
  const testButton = h("fluent-button", { id: "rule-test" }, t("ruleTest", { n: TEST_ITEMS }));
  testButton.addEventListener("click", async () => {
    try {
      const answer = await withSignIn(() => api.postJson("/api/v1/admin/rules/test", { rule: spec(), limit: TEST_ITEMS }));
      showFieldError(null);
      result.replaceChildren(
        h("p", { class: "result" }, t("ruleTested", { matched: answer.matched, examined: answer.examined })),
        h("ul", {}, ...answer.items.slice(0, 20).map((item) => h("li", { "data-item-id": item.item_id }, item.subject || item.item_id))),
      );
    } catch (error) {
      if (!showFieldError(error)) showError(error);
    }
  });
  editor.replaceChildren(
    h("h2", { id: "rule-editor-heading" }, rule ? t("ruleEditing", { name: rule.name }) : t("ruleNew")),
    h("form", { "aria-labelledby": "rule-editor-heading", onsubmit: (event) => event.preventDefault() },
      ...rows, h("div", { class: "actions" }, saveButton, testButton)),
    result,
  );
  inputs.get("name").input.focus();
}
