// Outlook: "Journalisér" on a mail being read (pinnable: follows the selected mail), and
// "Journalisér ved afsendelse" on a mail being written.

import {
  FilingPane, api, base64ToBytes, boot, clearError, earlierFilings, followFiling, h,
  officeAsync, say, showEarlier, showError, supports, t, withSignIn,
} from "./app.js";

const CATEGORY = "Journaliseret";
const FILING_PROPERTY = "journaliserFilingId";
const REFERENCE_PROPERTY = "journaliserRef";
const REFERENCE_HEADER = "X-Journaliser-Ref";
/** The compose pane's choice, read again by the send handler (launchevent.js). */
const SESSION_KEY = "journaliser";

const notice = () => document.getElementById("notice");
let pane;
/** Bumped whenever the selected mail changes, so late answers for the old one are dropped. */
let generation = 0;

function isCompose(item) {
  // In compose mode the subject is an object with getAsync; when reading it is a string.
  return typeof item.subject === "object" && item.subject !== null;
}

Office.onReady(async () => {
  const mailbox = Office.context?.mailbox;
  await boot(Office.context?.displayLanguage);
  if (!mailbox) {
    say(t("outsideOffice"));
    return;
  }
  pane = new FilingPane(document.getElementById("pane"), { actionLabel: t("fileMail") });
  const item = mailbox.item;
  if (item && isCompose(item)) {
    document.getElementById("heading").textContent = t("fileOnSend");
    await openCompose(item);
    return;
  }
  if (supports("Mailbox", "1.5") && mailbox.addHandlerAsync) {
    mailbox.addHandlerAsync(Office.EventType.ItemChanged, () => openRead(Office.context.mailbox.item));
  }
  await openRead(item);
});

// ---- Reading a mail ----

async function openRead(item) {
  const mine = ++generation;
  const current = () => mine === generation;
  pane.clear();
  notice().replaceChildren();
  clearError();
  if (!item) {
    say(t("noItem"));
    return;
  }
  if (item.itemType && item.itemType !== Office.MailboxEnums.ItemType.Message) {
    say(t("notMessage"));
    return;
  }
  if (!supports("Mailbox", "1.14") || typeof item.getAsFileAsync !== "function") {
    showError(new Error(t("needsMailbox114")));
    return;
  }
  try {
    say(t("uploadingMail"));
    const eml = base64ToBytes(await officeAsync((done) => item.getAsFileAsync(done)));
    if (!current()) return;
    const uploaded = await withSignIn(() => api.postBytes("/api/v1/items", eml, "message/rfc822"));
    if (!current()) return;
    say(t("suggesting"));
    const [suggestions, existing, threads] = await Promise.all([
      withSignIn(() => api.get(`/api/v1/items/${uploaded.id}/suggestions?limit=5`)),
      earlierFilings(uploaded),
      withSignIn(() => api.get("/api/v1/threads")).catch(() => ({ available: false })),
    ]);
    if (!current()) return;
    const form = () =>
      pane.show({
        suggestions: suggestions.suggestions,
        title: uploaded.metadata?.subject ?? (typeof item.subject === "string" ? item.subject : ""),
        attachments: uploaded.metadata?.attachments ?? [],
        followThread: threads.available === true,
        itemId: uploaded.id,
      });
    pane.onAction = (order) => fileMail(item, uploaded, order, current);
    if (existing.length) {
      showEarlier({
        container: notice(),
        earlier: existing,
        kind: "mail",
        openForm: form,
        stillWanted: current,
        onFiled: (filing) => markMail(item, filing),
        onMove: (filing) => {
          pane.onAction = (order) => moveMail(item, filing, order, current);
        },
      });
    } else {
      form();
      say(t("ready"));
    }
  } catch (error) {
    if (current()) showError(error, () => openRead(item));
  }
}

async function fileMail(item, uploaded, order, current) {
  const accepted = await api.postJson("/api/v1/filings", {
    item_id: uploaded.id,
    case_id: order.caseId,
    title: order.title || null,
    attachments: order.attachments,
  });
  // Later mails of the thread are then filed by the service as they arrive.
  if (order.followThread) {
    await api.postJson("/api/v1/threads", { filing_id: accepted.id });
    notice().append(h("p", { class: "existing", id: "following", text: t("followingThread", { case: order.caseLabel }) }));
  }
  const settled = await followFiling(accepted, (f) => pane.showFiling(f, order.caseLabel), current);
  if (settled?.state !== "filed") return;
  pane.finish();
  await markMail(item, settled);
}

/** Undoes an automatic filing and files the mail on the case the user chose, in one call. */
async function moveMail(item, filing, order, current) {
  const undone = await api.postJson(`/api/v1/filings/${encodeURIComponent(filing.id)}/undo`, {
    reason: "Flyttet i ruden",
    move_to: order.caseId,
  });
  const settled = await followFiling(undone.moved_to, (f) => pane.showFiling(f, order.caseLabel), current);
  if (settled?.state !== "filed") return;
  pane.finish();
  await markMail(item, settled);
}

/**
 * The filing id in the add-in's own custom property and, once the records system confirmed
 * the filing, the category the user sees. The server's filing record stays the truth, so a
 * failure here is reported, not fatal.
 */
async function markMail(item, filing) {
  try {
    const properties = await officeAsync((done) => item.loadCustomPropertiesAsync(done));
    if (properties.get(FILING_PROPERTY) !== filing.id) {
      properties.set(FILING_PROPERTY, filing.id);
      await officeAsync((done) => properties.saveAsync(done));
    }
    if (!filing.confirmed || !supports("Mailbox", "1.8") || !item.categories) return;
    await addCategory(item);
    document.getElementById("marked")?.remove();
    notice().insertBefore(h("p", { class: "hint", id: "marked", text: t("marked") }), document.getElementById("file-elsewhere"));
  } catch (error) {
    showError(new Error(t("markFailed", { reason: error.message })));
  }
}

async function addCategory(item) {
  const present = await officeAsync((done) => item.categories.getAsync(done)).catch(() => []);
  if ((present ?? []).some((c) => c.displayName === CATEGORY)) return;
  try {
    await officeAsync((done) => item.categories.addAsync([CATEGORY], done));
  } catch (missing) {
    // Only categories in the mailbox's master list can be applied; create it where allowed.
    const master = Office.context.mailbox.masterCategories;
    if (!master) throw missing;
    const color = Office.MailboxEnums?.CategoryColor?.Preset4;
    await officeAsync((done) => master.addAsync([{ displayName: CATEGORY, color }], done));
    await officeAsync((done) => item.categories.addAsync([CATEGORY], done));
  }
}

// ---- Writing a mail ----

async function openCompose(item) {
  try {
    const stored = await readIntent(item);
    const subject = await officeAsync((done) => item.subject.getAsync(done)).catch(() => "");
    say(t("suggesting"));
    const suggestions = await draftSuggestions(item, subject);
    pane.onAction = (order) => recordIntent(item, order);
    pane.show({ suggestions, title: subject, actionLabel: t("fileOnSend") });
    notice().replaceChildren(h("p", { class: "hint", text: t("composeHint") }));
    if (stored) showIntent(item, stored);
    else say(t("ready"));
  } catch (error) {
    showError(error, () => openCompose(item));
  }
}

/**
 * Suggestions from the draft's subject and text so far, sent as plain text. A reply's quoted
 * thread usually names the case already. Without them the user searches.
 */
async function draftSuggestions(item, subject) {
  try {
    const body = item.body?.getAsync
      ? await officeAsync((done) => item.body.getAsync(Office.CoercionType.Text, done))
      : "";
    const text = `${subject}\n\n${body}`.trim();
    if (!text) return [];
    const uploaded = await withSignIn(() => api.postBytes("/api/v1/items", new TextEncoder().encode(text), "text/plain; charset=utf-8"));
    const answer = await withSignIn(() => api.get(`/api/v1/items/${uploaded.id}/suggestions?limit=5`));
    return answer.suggestions;
  } catch {
    // Suggestions are a help here, not a need: the search still works.
    return [];
  }
}

async function readIntent(item) {
  if (!supports("Mailbox", "1.11") || !item.sessionData) return null;
  try {
    const value = await officeAsync((done) => item.sessionData.getAsync(SESSION_KEY, done));
    return value ? JSON.parse(value) : null;
  } catch {
    return null;
  }
}

/**
 * Records "file this when sent" with the server, and stamps the draft with the opaque
 * reference the server knows the sent copy by. The reference is the only thing that travels
 * with the mail; case numbers and titles never go into headers.
 */
async function recordIntent(item, order) {
  const intent = await api.postJson("/api/v1/intents", { case_id: order.caseId, title: order.title || null });
  const stored = { reference: intent.reference, case_id: order.caseId, case_label: order.caseLabel };
  const problems = [];
  if (supports("Mailbox", "1.11") && item.sessionData) {
    await officeAsync((done) => item.sessionData.setAsync(SESSION_KEY, JSON.stringify(stored), done)).catch((e) => problems.push(e));
  }
  if (supports("Mailbox", "1.8") && item.internetHeaders) {
    await officeAsync((done) => item.internetHeaders.setAsync({ [REFERENCE_HEADER]: intent.reference }, done)).catch((e) => problems.push(e));
  }
  try {
    const properties = await officeAsync((done) => item.loadCustomPropertiesAsync(done));
    properties.set(REFERENCE_PROPERTY, intent.reference);
    await officeAsync((done) => properties.saveAsync(done));
  } catch (error) {
    problems.push(error);
  }
  showIntent(item, stored);
  if (problems.length) showError(new Error(t("intentStampFailed", { reason: problems[0].message })));
}

function showIntent(item, stored) {
  const text = t("intentRecorded", { case: stored.case_label ?? stored.case_id });
  const undo = h("fluent-button", { appearance: "secondary", id: "undo-intent" }, t("intentUndo"));
  undo.addEventListener("click", () => undoIntent(item, stored.reference));
  notice().replaceChildren(h("p", { class: "existing", id: "intent", "data-reference": stored.reference, text }), undo);
  pane.setResult(text);
}

async function undoIntent(item, reference) {
  clearError();
  // The service forgets the intent first: even if a mark below stays on the mail, its sent
  // copy is then not filed.
  try {
    await api.delete(`/api/v1/intents/${encodeURIComponent(reference)}`);
  } catch (error) {
    showError(error);
    return;
  }
  const steps = [];
  if (supports("Mailbox", "1.11") && item.sessionData) {
    steps.push(officeAsync((done) => item.sessionData.removeAsync(SESSION_KEY, done)));
  }
  if (supports("Mailbox", "1.8") && item.internetHeaders) {
    steps.push(officeAsync((done) => item.internetHeaders.removeAsync([REFERENCE_HEADER], done)));
  }
  steps.push(officeAsync((done) => item.loadCustomPropertiesAsync(done)).then((properties) => {
    properties.remove(REFERENCE_PROPERTY);
    return officeAsync((done) => properties.saveAsync(done));
  }));
  const results = await Promise.allSettled(steps);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) showError(failed.reason);
  notice().replaceChildren(h("p", { class: "hint", text: t("composeHint") }));
  pane.setResult(t("intentUndone"));
}
