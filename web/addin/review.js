// The review queue: the items a watched mailbox (or a rule) left for a person, each with why
// and the likely cases. One click on a case claims the item and files it there; a case search
// finds another; "Afvis" dismisses it with a reason. Everything works by keyboard.

import { api, boot, caseName, clearError, h, say, showError, t, withSignIn } from "./app.js";
import { formatPercent } from "./i18n.js";

const queueSelect = document.getElementById("queue");
const list = document.getElementById("items");

async function load() {
  clearError();
  say(t("reviewLoading"));
  const queue = queueSelect.value;
  const answer = await withSignIn(() => api.get(`/api/v1/review${queue ? `?queue=${encodeURIComponent(queue)}` : ""}`));
  const known = new Set([...queueSelect.options].map((o) => o.value));
  for (const { queue: name, waiting } of answer.queues) {
    if (known.has(name)) continue;
    queueSelect.append(h("option", { value: name }, `${name} (${waiting})`));
  }
  list.replaceChildren(...answer.items.map(entry));
  say(answer.items.length ? t("reviewCount", { n: answer.items.length }) : t("reviewEmpty"));
}

/** One waiting item: what it is, why it waits, and a button per likely case. */
function entry(item) {
  const li = h("li", { class: "review-item", "data-item-id": item.item_id });
  const heading = h("h2", { id: `subject-${item.item_id}` }, item.subject || t("reviewNoSubject"));
  const facts = h("p", { class: "hint" },
    [item.from, item.received_at && new Date(item.received_at).toLocaleString(document.documentElement.lang)]
      .filter(Boolean).join(" · "));
  const why = h("p", { class: "why" }, t(`why_${item.why}`));
  const preview = h("p", { class: "preview" }, item.text_preview);
  const cases = h("div", { class: "review-cases", role: "group", "aria-labelledby": `subject-${item.item_id}` },
    ...item.suggestions.map((s) => caseButton(item, s.case, t("reviewFileOn", { case: caseName(s.case), pct: formatPercent(s.confidence) }))));
  const search = h("input", { type: "search", id: `search-${item.item_id}`, "aria-label": t("searchLabel"), placeholder: t("searchLabel") });
  const found = h("div", { class: "review-found", "aria-live": "polite" });
  search.addEventListener("keydown", async (event) => {
    if (event.key !== "Enter" || !search.value.trim()) return;
    try {
      const answer = await withSignIn(() => api.get(`/api/v1/cases?q=${encodeURIComponent(search.value.trim())}`));
      found.replaceChildren(...answer.cases.slice(0, 8).map((c) => caseButton(item, c, t("reviewFileOn", { case: caseName(c), pct: "–" }))));
      if (!answer.cases.length) found.textContent = t("noResults", { q: search.value.trim() });
    } catch (error) {
      showError(error);
    }
  });
  const dismiss = h("fluent-button", { appearance: "secondary", id: `dismiss-${item.item_id}` }, t("reviewDismiss"));
  dismiss.addEventListener("click", () => dismissItem(item, li));
  li.append(heading, facts, why, preview, cases, search, found, dismiss);
  return li;
}

function caseButton(item, found, label) {
  const button = h("fluent-button", { appearance: "primary", "data-case-id": found.id }, label);
  button.addEventListener("click", () => fileItem(item, found, button));
  return button;
}

async function claim(item) {
  await withSignIn(() => api.postJson(`/api/v1/review/${encodeURIComponent(item.item_id)}/claim`, null));
}

async function fileItem(item, found, button) {
  clearError();
  button.disabled = true;
  try {
    await claim(item);
    const filing = await withSignIn(() => api.postJson("/api/v1/filings", {
      item_id: item.item_id,
      case_id: found.id,
      title: (item.subject || t("reviewNoSubject")).slice(0, 250),
    }));
    const li = list.querySelector(`[data-item-id="${CSS.escape(item.item_id)}"]`);
    li.replaceChildren(h("p", { class: "existing", "data-filing-id": filing.id }, t("reviewFiled", { case: caseName(found) })));
    say(t("reviewFiled", { case: caseName(found) }));
  } catch (error) {
    button.disabled = false;
    showError(error);
  }
}

async function dismissItem(item, li) {
  const reason = window.prompt(t("reviewWhyDismiss"));
  if (!reason || !reason.trim()) return;
  try {
    await claim(item);
    await withSignIn(() => api.postJson(`/api/v1/review/${encodeURIComponent(item.item_id)}/dismiss`, { reason: reason.trim() }));
    li.replaceChildren(h("p", { class: "existing" }, t("reviewDismissed")));
    say(t("reviewDismissed"));
  } catch (error) {
    showError(error);
  }
}

queueSelect.addEventListener("change", () => load().catch((error) => showError(error, load)));
queueSelect.append(h("option", { value: "" }, t("reviewAllQueues")));

await boot(navigator.language);
await load().catch((error) => showError(error, load));
