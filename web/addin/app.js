// The pane every host shares: sign-in, status and errors, the case choice (suggestions with
// reasons, search), the document title, the attachments' choices, and a filing followed until
// the records system has it.

import "./vendor/web-components.min.js";
import { api, ApiError, SignInNeeded, authMode, loadConfig, setDevToken, takeTokenFromAddress, token } from "./api.js";
import { followTheme } from "./theme.js";
import { currentLanguage, formatPercent, formatSize, formatTime, setLanguage, t } from "./i18n.js";

export { api, ApiError, t, currentLanguage, formatSize };

/** A DOM element: `text` sets its text, `on…` functions become listeners, `true` an empty attribute. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") element.textContent = value;
    else if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

let uniqueCounter = 0;
function uniqueId(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** Shown in the page's polite live region, so screen readers hear each step. */
export function say(text) {
  document.getElementById("status").textContent = text ?? "";
}

/** A clear, pane-level error in the page's alert region, with an optional retry. */
export function showError(error, retry) {
  const alert = document.getElementById("alert");
  alert.replaceChildren();
  if (!error) {
    alert.hidden = true;
    return;
  }
  const { text, detail } = describeError(error);
  alert.append(h("p", { class: "alert-text", text }));
  if (detail) alert.append(h("p", { class: "alert-detail", text: detail }));
  if (retry && mayPass(error)) {
    alert.append(h("fluent-button", { onclick: () => retry() }, t("retry")));
  }
  alert.hidden = false;
  say("");
}

/** Worth trying again: the network, a busy or failing server, or Office itself. */
function mayPass(error) {
  if (error instanceof ApiError) return error.status === 0 || error.status === 429 || error.status >= 500;
  return error instanceof OfficeError;
}

export function clearError() {
  showError(null);
}

export function describeError(error) {
  if (error instanceof ApiError) {
    const key =
      error.status === 0 ? "errNetwork" : error.status >= 500 ? "err5xx" : `err${error.status}`;
    const text = t(key) === key ? t("err400") : t(key);
    const detail = error.status > 0 && error.message ? t("errDetail", { message: error.message }) : "";
    return { text, detail };
  }
  if (error instanceof OfficeError) return { text: t("errOffice", { reason: error.message }), detail: "" };
  return { text: String(error?.message ?? error), detail: "" };
}

/** An Office.js call failed; `message` is Office's own. */
export class OfficeError extends Error {}

/** Runs a callback-style Office.js method as a promise. */
export function officeAsync(call) {
  return new Promise((resolve, reject) => {
    call((result) => {
      if (result.status === Office.AsyncResultStatus.Succeeded) resolve(result.value);
      else reject(new OfficeError(result.error?.message ?? "unknown error"));
    });
  });
}

export function base64ToBytes(base64) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function supports(set, version) {
  return Boolean(globalThis.Office?.context?.requirements?.isSetSupported?.(set, version));
}

/** Language, theme, configuration; then a signed-in user (asking for a sign-in if needed). */
export async function boot(languageTag) {
  setLanguage(languageTag);
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  takeTokenFromAddress();
  // Without the theme the pane still works, in the fallback colours of pane.css.
  const theme = followTheme().catch(() => {});
  await Promise.all([theme, loadConfig()]);
  await signedIn();
}

let signingIn = null;

/**
 * Resolves once a token is at hand, showing the sign-in form until then. Requests that fail
 * together wait for the same sign-in.
 */
export function signedIn(message) {
  signingIn ??= askToSignIn(message).finally(() => { signingIn = null; });
  return signingIn;
}

async function askToSignIn(message) {
  if (!message) {
    try {
      await token();
      return;
    } catch (error) {
      // Anything but "no token yet" (MSAL not loading, say) is shown above the sign-in.
      if (!(error instanceof SignInNeeded)) showError(error);
    }
  }
  const form = document.getElementById("signin");
  await new Promise((resolve) => {
    form.replaceChildren(h("h2", { text: t("signInHeading") }));
    if (message) form.append(h("p", { text: message }));
    if (authMode() === "entra") {
      const button = h("fluent-button", { appearance: "primary" }, t("signInMicrosoft"));
      button.addEventListener("click", async () => {
        try {
          await token({ interactive: true });
          resolve();
        } catch (error) {
          showError(error);
        }
      });
      form.append(button);
    } else {
      const input = h("fluent-text-input", { type: "password", id: "token-input" }, t("tokenLabel"));
      const submit = () => {
        const value = input.value?.trim();
        if (value) {
          setDevToken(value);
          resolve();
        }
      };
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") submit();
      });
      form.append(
        h("p", { class: "hint", text: t("tokenHint") }),
        input,
        h("fluent-button", { appearance: "primary", onclick: submit }, t("signIn")),
      );
    }
    form.hidden = false;
  });
  form.hidden = true;
  form.replaceChildren();
}

/** Runs `step`; a missing or expired sign-in asks the user to sign in and runs it again. */
export async function withSignIn(step) {
  for (;;) {
    try {
      return await step();
    } catch (error) {
      if (error instanceof SignInNeeded || (error instanceof ApiError && error.status === 401)) {
        await signedIn(t("signedOut"));
        continue;
      }
      throw error;
    }
  }
}

/** How a case is named to the user: its journal number and title. */
export function caseName(found) {
  return found.number ? `${found.number} ${found.title ?? ""}`.trim() : found.id;
}

/** The case's display name, or its id when the user may not see it. */
export async function lookUpCase(caseId) {
  try {
    return await api.get(`/api/v1/cases/${encodeURIComponent(caseId)}`);
  } catch {
    return { id: caseId };
  }
}

/** Where a filing stands, in words. */
export function describeFiling(filing, caseLabel) {
  const params = { case: caseLabel, doc: filing.target_document_id ?? "?", version: filing.version };
  if (filing.state === "filed") {
    if (!filing.confirmed) return t("filedUnconfirmed", params);
    // Every filing is version 1 of its document; only a later version is worth a mention.
    return filing.version > 1 ? t("filedVersion", params) : t("filed", params);
  }
  if (filing.state === "failed") return t("failed", { reason: filing.error ?? "?" });
  if (filing.attempts > 0 && filing.error && filing.next_attempt_at) {
    return t("queuedRetry", {
      n: filing.attempts,
      reason: filing.error,
      time: formatTime(filing.next_attempt_at),
    });
  }
  return t("queued");
}

/** An earlier filing of the same mail or document, in words, naming its case. */
export function describeEarlier(filing, found, kind) {
  const label = caseName(found);
  if (filing.automatic) {
    const { evidence, rule, confidence } = filing.automatic;
    const why = t(`because_${evidence}`, { rule: rule?.name ?? "", pct: formatPercent(confidence ?? 0) });
    const state = filing.state === "filed" && filing.confirmed
      ? t("autoFiledDocument", { doc: filing.target_document_id })
      : describeFiling(filing, found.number ?? found.id);
    return `${t("autoFiled", { case: label, why })} ${state}`;
  }
  if (filing.state === "filed" && filing.confirmed) {
    return t(kind === "mail" ? "alreadyFiled" : "alreadyFiledDocument", { case: label, doc: filing.target_document_id });
  }
  const lead = t(kind === "mail" ? "alreadyQueued" : "alreadyQueuedDocument", { case: label });
  return `${lead} ${describeFiling(filing, found.number ?? found.id)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls a filing until it leaves `queued`, calling `onUpdate` at each change of wording.
 * Stops early (returning null) when `stillWanted` turns false, e.g. the mail changed.
 */
export async function followFiling(filing, onUpdate, stillWanted = () => true) {
  let current = filing;
  let delay = 250;
  onUpdate(current);
  while (current.state === "queued") {
    await sleep(delay);
    if (!stillWanted()) return null;
    const next = await withSignIn(() => api.get(`/api/v1/filings/${encodeURIComponent(current.id)}`));
    if (!stillWanted()) return null;
    if (next.state !== current.state || next.attempts !== current.attempts) onUpdate(next);
    current = next;
    delay = Math.min(delay * 1.5, 5000);
  }
  return current;
}

/**
 * Filings of an item that count as done or under way (a failed one may be filed again), each
 * with its case.
 */
export function earlierFilings(item) {
  const live = (item.filings ?? []).filter((f) => f.state !== "failed" && f.state !== "withdrawn");
  return Promise.all(live.map(async (filing) => ({ filing, found: await lookUpCase(filing.case_id) })));
}

/**
 * An item filed before (or on its way): says so with its case, follows it until filed, and
 * offers the form only on request, so nothing is filed twice by accident.
 */
export function showEarlier({ container, earlier, kind, openForm, stillWanted, onFiled, onMove }) {
  const lines = earlier.map(({ filing, found }) => {
    const line = h("p", { class: "existing", "data-case-id": found.id });
    const render = (f) => {
      line.dataset.filingId = f.id;
      line.dataset.state = f.state;
      line.textContent = describeEarlier(f, found, kind);
    };
    followFiling(filing, render, stillWanted)
      .then((settled) => settled?.state === "filed" && onFiled?.(settled))
      .catch((error) => stillWanted() && showError(error));
    if (!filing.automatic) return line;
    // What the service filed by itself, a person can take back or move in one click.
    const undo = h("fluent-button", { appearance: "secondary", id: `undo-${filing.id}` }, t("undo"));
    const move = h("fluent-button", { appearance: "secondary", id: `move-${filing.id}` }, t("moveElsewhere"));
    const block = h("div", { class: "automatic" }, line, undo, move);
    undo.addEventListener("click", async () => {
      try {
        await withSignIn(() => api.postJson(`/api/v1/filings/${encodeURIComponent(filing.id)}/undo`, { reason: "Fortrudt i ruden" }));
        undo.remove();
        move.remove();
        line.dataset.state = "withdrawn";
        line.textContent = t("undone", { case: caseName(found) });
        say(line.textContent);
        openForm();
      } catch (error) {
        showError(error);
      }
    });
    move.addEventListener("click", () => {
      undo.remove();
      move.remove();
      onMove?.(filing);
      openForm();
      say(t("moving"));
      document.getElementById("case-search")?.focus();
    });
    return block;
  });
  const again = h("fluent-button", { appearance: "secondary", id: "file-elsewhere" },
    t(kind === "mail" ? "fileElsewhere" : "saveElsewhere"));
  again.addEventListener("click", () => {
    again.remove();
    openForm();
    document.getElementById("case-search")?.focus();
  });
  say("");
  container.replaceChildren(...lines, again);
}

/** The longest document title the service takes. */
const MAX_TITLE = 250;

/** Images shown inside the mail and tiny images are signatures and logos: skipped by default. */
function defaultMode(attachment) {
  const image = attachment.content_type?.startsWith("image/");
  if (image && (attachment.inline || attachment.size < 10_000)) return "skip";
  return "with_mail";
}

/**
 * The case choice, title, attachments and the action button. `onAction({caseId, caseLabel,
 * title, attachments})` does the host's work and returns when the filing is settled.
 */
export class FilingPane {
  constructor(root, { actionLabel, onAction }) {
    this.root = root;
    this.actionLabel = actionLabel;
    this.onAction = onAction;
    this.cases = new Map();
    this.caseId = null;
    this.searchSerial = 0;
  }

  clear() {
    this.root.replaceChildren();
    this.root.hidden = true;
    this.caseId = null;
    this.cases.clear();
  }

  /**
   * `suggestions` as the API gives them; `locked` a case the filing must go to (a new
   * version), with `onUnlock` to let the user choose freely instead.
   */
  show({ suggestions = [], title = "", attachments = [], locked = null, onUnlock = null, actionLabel, followThread = false, itemId = null }) {
    this.clear();
    this.newCase = null;
    if (actionLabel) this.actionLabel = actionLabel;
    const parts = [];
    if (locked) {
      this.remember(locked);
      this.caseId = locked.id;
      parts.push(
        h("section", { class: "block", "aria-labelledby": "case-heading" },
          h("h2", { id: "case-heading", text: t("caseHeading") }),
          h("p", { class: "locked-case", "data-case-id": locked.id, text: caseName(locked) }),
          onUnlock ? h("fluent-button", { appearance: "subtle", onclick: onUnlock }, t("saveAsNew")) : null),
      );
    } else {
      parts.push(this.suggestionBlock(suggestions), this.searchBlock());
      if (itemId) parts.push(this.newCaseBlock(itemId));
    }
    this.titleInput = h("fluent-text-input", { id: "title-input", maxlength: String(MAX_TITLE) }, t("titleLabel"));
    // The service takes titles of at most 250 characters: a longer subject is cut, and said so.
    const chars = [...(title ?? "")];
    const cut = chars.length > MAX_TITLE;
    if (cut) title = chars.slice(0, MAX_TITLE).join("");
    parts.push(h("section", { class: "block" }, this.titleInput,
      cut ? h("p", { class: "hint", id: "title-cut", text: t("titleCut", { n: MAX_TITLE }) }) : null));
    this.attachmentModes = new Map();
    if (attachments.length) parts.push(this.attachmentBlock(attachments));
    this.followInput = null;
    this.followBlock = null;
    if (followThread) {
      this.followInput = h("input", { type: "checkbox", id: "follow-thread" });
      this.followBlock = h("section", { class: "block follow" }, this.followInput,
        h("label", { for: "follow-thread", text: t("followThread") }));
      parts.push(this.followBlock);
    }
    this.button = h("fluent-button", { appearance: "primary", id: "action", onclick: () => this.act() }, this.actionLabel);
    this.result = h("p", { class: "result", id: "result", role: "status" });
    parts.push(h("div", { class: "actions" }, this.button), this.result);
    this.root.append(...parts);
    this.titleInput.value = title;
    this.root.hidden = false;
  }

  remember(found) {
    this.cases.set(found.id, found);
  }

  suggestionBlock(suggestions) {
    const headingId = uniqueId("suggestions-heading");
    const block = h("section", { class: "block", "aria-labelledby": headingId },
      h("h2", { id: headingId, text: t("suggestionsHeading") }));
    if (!suggestions.length) {
      block.append(h("p", { class: "hint", text: t("noSuggestions") }));
      return block;
    }
    const group = this.caseGroup(headingId, "suggestions");
    // The first suggestion is preselected: one click files on it.
    this.caseId = suggestions[0].case.id;
    for (const suggestion of suggestions) {
      const reasons = suggestion.reasons.map((r) => (currentLanguage() === "da" ? r.text : r.text_en || r.text));
      group.append(this.caseOption(suggestion.case, {
        confidence: t("confidence", { pct: formatPercent(suggestion.confidence) }),
        reasons,
      }, suggestion.case.id === this.caseId));
    }
    block.append(group);
    return block;
  }

  searchBlock() {
    const input = h("fluent-text-input", { type: "search", id: "case-search", autocomplete: "off" }, t("searchLabel"));
    const results = h("div", { class: "search-results", id: "search-results" });
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.search(input.value?.trim() ?? "", results), 250);
    });
    return h("section", { class: "block" }, input, results);
  }

  async search(query, results) {
    const serial = ++this.searchSerial;
    if (!query) {
      results.replaceChildren();
      return;
    }
    results.replaceChildren(h("p", { class: "hint", text: t("searching") }));
    let found;
    try {
      found = await withSignIn(() => api.get(`/api/v1/cases?limit=8&q=${encodeURIComponent(query)}`));
    } catch (error) {
      if (serial === this.searchSerial) showError(error);
      return;
    }
    if (serial !== this.searchSerial) return;
    clearError();
    if (!found.cases.length) {
      results.replaceChildren(h("p", { class: "hint", text: t("noResults", { q: query }) }));
      return;
    }
    const headingId = uniqueId("results-heading");
    const group = this.caseGroup(headingId, "results");
    for (const item of found.cases) group.append(this.caseOption(item, {}));
    results.replaceChildren(h("h3", { id: headingId, text: t("searchResults") }), group);
    say(`${t("searchResults")}: ${found.cases.length}`);
  }

  caseGroup(headingId, name) {
    const group = h("fluent-radio-group", { orientation: "vertical", "aria-labelledby": headingId, class: "cases", "data-group": name });
    group.addEventListener("change", () => {
      if (!group.value) return;
      this.caseId = group.value;
      // One case at a time across suggestions and search results.
      for (const other of this.root.querySelectorAll("fluent-radio-group.cases")) {
        if (other === group) continue;
        for (const radio of other.querySelectorAll("fluent-radio")) radio.checked = false;
      }
    });
    return group;
  }

  caseOption(found, { confidence, reasons = [] }, checked = false) {
    this.remember(found);
    const whyId = uniqueId("why");
    const radio = h("fluent-radio", { slot: "input", value: found.id, "aria-describedby": whyId, checked });
    const label = h("label", { slot: "label" },
      h("span", { class: "case-number", text: found.number ?? found.id }), " ",
      h("span", { class: "case-title", text: found.title ?? "" }),
      found.status === "closed" ? h("span", { class: "case-closed", text: ` (${t("closed")})` }) : null);
    const why = h("div", { class: "why", id: whyId },
      confidence ? h("span", { class: "confidence", text: confidence }) : null,
      reasons.length ? h("ul", { class: "reasons" }, reasons.map((r) => h("li", { text: r }))) : null);
    return h("div", { class: "case-option", "data-case-id": found.id },
      h("fluent-field", { "label-position": "after" }, label, radio), why);
  }

  /** "Opret ny sag": the service's proposal for a new case, every field changeable. */
  newCaseBlock(itemId) {
    const form = h("div", { id: "new-case-form" });
    const open = h("fluent-button", { appearance: "secondary", id: "new-case" }, t("newCase"));
    open.addEventListener("click", async () => {
      try {
        const proposal = await withSignIn(() => api.get(`/api/v1/items/${encodeURIComponent(itemId)}/case-proposal`));
        open.remove();
        this.openNewCase(form, proposal);
      } catch (error) {
        showError(error);
      }
    });
    return h("section", { class: "block", "aria-labelledby": "new-case-heading" },
      h("h2", { id: "new-case-heading", text: t("newCaseHeading") }),
      h("p", { class: "hint", text: t("newCaseHint") }), open, form);
  }

  openNewCase(form, proposal) {
    const title = h("fluent-text-input", { id: "new-case-title", maxlength: String(MAX_TITLE) }, t("newCaseTitle"));
    const kle = h("fluent-text-input", { type: "search", id: "new-case-kle", autocomplete: "off" }, t("kleLabel"));
    const kleResults = h("div", { class: "kle-results", id: "kle-results" });
    const facet = h("fluent-text-input", { id: "new-case-facet" }, t("facetLabel"));
    const groups = h("fluent-text-input", { id: "new-case-groups" }, t("groupsLabel"));
    const parties = [...proposal.parties];
    const partyList = h("ul", { class: "parties", id: "new-case-parties" });
    const renderParties = () => partyList.replaceChildren(...parties.map((party, index) =>
      h("li", { class: "party" }, h("span", { class: "party-name", text: party.display }), " ",
        h("fluent-button", {
          appearance: "subtle",
          "aria-label": t("removeParty", { party: party.display }),
          onclick: () => { parties.splice(index, 1); renderParties(); },
        }, "×"))));
    renderParties();
    const choose = (number) => {
      kle.value = number;
      kleResults.replaceChildren();
    };
    const proposed = proposal.kle.slice(0, 3).map((k) =>
      h("fluent-button", { appearance: "subtle", class: "kle-option", "data-number": k.number, onclick: () => choose(k.number) },
        t("kleProposed", { number: k.number, title: k.title ?? "", pct: formatPercent(k.confidence) })));
    let timer = null;
    kle.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const query = kle.value?.trim() ?? "";
        if (!query) return kleResults.replaceChildren();
        try {
          const found = await withSignIn(() => api.get(`/api/v1/kle?limit=8&q=${encodeURIComponent(query)}`));
          kleResults.replaceChildren(...found.kle.map((k) =>
            h("fluent-button", { appearance: "subtle", class: "kle-option", "data-number": k.number, onclick: () => choose(k.number) },
              `${k.number} ${k.title}`)));
        } catch (error) {
          showError(error);
        }
      }, 250);
    });
    const similar = proposal.similar_open_cases.length
      ? h("p", { class: "similar", id: "similar-open", role: "note",
          text: t("similarOpen", { cases: proposal.similar_open_cases.map(caseName).join(", ") }) })
      : null;
    form.replaceChildren(similar ?? "", title, h("div", { class: "kle-proposed" }, proposed), kle, kleResults, facet,
      h("h3", { text: t("partiesHeading") }), partyList, groups);
    title.value = proposal.title;
    kle.value = proposal.kle[0]?.number ?? "";
    facet.value = proposal.facet[0]?.code ?? "";
    groups.value = proposal.groups.join(", ");
    // One key for every try of this form: a retry after a lost answer gives the same case.
    this.newCase = {
      key: crypto.randomUUID(),
      connector: proposal.connector,
      order: () => ({
        connector: proposal.connector,
        title: title.value?.trim() ?? "",
        kle: kle.value?.trim() || null,
        facet: facet.value?.trim() || null,
        parties: parties.map(({ kind, value, display }) => ({ kind, value, display })),
        groups: (groups.value ?? "").split(",").map((g) => g.trim()).filter(Boolean),
        create_key: this.newCase.key,
      }),
    };
    for (const radio of this.root.querySelectorAll("fluent-radio-group.cases fluent-radio")) radio.checked = false;
    this.caseId = null;
    // A thread is followed onto a case that exists; a new case is followed once made.
    this.followBlock?.remove();
    this.followInput = null;
    this.button.textContent = t("createAndFile");
    title.focus();
  }

  attachmentBlock(attachments) {
    const headingId = uniqueId("attachments-heading");
    const list = h("ul", { class: "attachments" });
    for (const attachment of attachments) {
      const mode = defaultMode(attachment);
      this.attachmentModes.set(attachment.index, mode);
      const nameId = uniqueId("attachment");
      const name = attachment.name ?? attachment.content_type;
      const group = h("fluent-radio-group", { orientation: "vertical", "aria-labelledby": nameId, "data-index": attachment.index });
      for (const [value, key] of [["with_mail", "withMail"], ["separate", "separate"], ["skip", "skip"]]) {
        group.append(h("fluent-field", { "label-position": "after" },
          h("label", { slot: "label", text: t(key) }),
          h("fluent-radio", { slot: "input", value, checked: value === mode })));
      }
      group.addEventListener("change", () => {
        if (group.value) this.attachmentModes.set(attachment.index, group.value);
      });
      const details = [formatSize(attachment.size), attachment.inline ? t("inlineNote") : null].filter(Boolean).join(", ");
      list.append(h("li", { class: "attachment", "data-index": attachment.index },
        h("p", { class: "attachment-name", id: nameId }, h("span", { text: name }), h("span", { class: "attachment-size", text: ` (${details})` })),
        mode === "skip" ? h("p", { class: "hint", text: t("skippedByDefault") }) : null,
        group));
    }
    return h("section", { class: "block", "aria-labelledby": headingId },
      h("h2", { id: headingId, text: t("attachmentsHeading") }), list);
  }

  /** The outcome of the action, in its own live region; the progress line is cleared. */
  setResult(text) {
    this.result.textContent = text;
    say("");
  }

  /** Done: only the outcome stays, so the same mail or document is not offered twice. */
  finish() {
    this.root.replaceChildren(this.result);
  }

  /** A filing's state as the result of the action; the element carries its id and state. */
  showFiling(filing, caseLabel) {
    this.result.dataset.filingId = filing.id;
    this.result.dataset.state = filing.state;
    this.setResult(describeFiling(filing, caseLabel));
  }

  async act() {
    if (this.busy) return;
    if (this.newCase && !this.caseId) {
      this.busy = true;
      this.setResult(t("creatingCase"));
      try {
        const created = await withSignIn(() => api.postJson("/api/v1/cases", this.newCase.order()));
        this.remember(created.case);
        this.caseId = created.case.id;
      } catch (error) {
        this.setResult("");
        showError(error, () => this.act());
        return;
      } finally {
        this.busy = false;
      }
    }
    if (!this.caseId) {
      this.setResult(t("chooseCase"));
      return;
    }
    const chosen = this.cases.get(this.caseId) ?? { id: this.caseId };
    const order = {
      caseId: this.caseId,
      caseLabel: chosen.number ?? chosen.id,
      title: this.titleInput.value?.trim() ?? "",
      attachments: [...this.attachmentModes].map(([index, mode]) => ({ index, mode })),
      followThread: this.followInput?.checked ?? false,
    };
    this.busy = true;
    this.button.setAttribute("disabled", "");
    clearError();
    this.setResult(t("sending"));
    try {
      await withSignIn(() => this.onAction(order));
    } catch (error) {
      this.setResult("");
      showError(error, () => this.act());
    } finally {
      this.busy = false;
      this.button.removeAttribute("disabled");
    }
  }
}
