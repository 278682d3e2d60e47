// What the admin console's sections draw with: tables of figures, times and shares in the
// page's language.

import { currentLanguage, h, t } from "./app.js";

function locale() {
  return currentLanguage() === "da" ? "da-DK" : "en-GB";
}

/** A time in full, or "never". */
export function when(iso) {
  if (!iso) return t("never");
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}

/** A share from 0 to 1 as a percentage with one decimal. */
export function share(fraction) {
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(fraction ?? 0);
}

export function number(n) {
  return new Intl.NumberFormat(locale()).format(n ?? 0);
}

/**
 * A table of figures: `columns` are `{label, numeric?}`, each row an array of cells (text or
 * elements); `rowAttributes` (optional) gives each row's attributes.
 */
export function table(caption, columns, rows, rowAttributes = () => ({})) {
  const head = h("tr", {}, ...columns.map((c) => h("th", { scope: "col", class: c.numeric ? "n" : null }, c.label)));
  const body = rows.map((cells, index) =>
    h("tr", rowAttributes(index), ...cells.map((cell, i) => {
      const tag = i === 0 ? "th" : "td";
      return h(tag, { scope: i === 0 ? "row" : null, class: columns[i]?.numeric ? "n" : null, "data-column": columns[i]?.key ?? null }, cell);
    })));
  return h("div", { class: "table-wrap" },
    h("table", { class: "figures" }, h("caption", {}, caption), h("thead", {}, head), h("tbody", {}, ...body)));
}

/** A backtest's figures side by side, today and after the change: one row per
 * `[key, label, format]`, each formatting one side of the answer. */
export function figuresTodayAndAfter(rows, answer) {
  return table(t("backtestCompare"),
    [{ label: t("backtestFigure") }, { label: t("backtestToday"), numeric: true, key: "today" }, { label: t("backtestAfter"), numeric: true, key: "after" }],
    rows.map(([, label, format]) => [label, format(answer.today), format(answer.after)]),
    (i) => ({ "data-figure": rows[i][0] }));
}
