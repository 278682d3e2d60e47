// Word: "Gem på sag". The document goes to the server as DOCX for suggestions; saving files it,
// and the records system's document id is kept in the document itself, so the next save of the
// same document becomes a new version of it instead of a second document. When no case fits,
// "Opret ny sag" creates one from the service's proposal and saves the document on it.

import {
  FilingPane, OfficeError, api, boot, clearError, followFiling, h,
  lookUpCase, officeAsync, say, showError, supports, t, withSignIn,
} from "./app.js";

const DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/** Office's limit for one slice (4 MB); a larger one fails with "Internal Error". */
const SLICE_SIZE = 4_194_304;
const DOCUMENT_ID = "JournaliserDocumentId";
const CASE_ID = "JournaliserCaseId";

const notice = () => document.getElementById("notice");
let pane;
/** Where this document was saved before: `{documentId, caseId}`, or null for a new one. */
let saved = null;
let savedCase = null;
let suggestions = [];
/** The document as uploaded when the pane opened: the item a new case is proposed from. */
let openedItemId = null;

Office.onReady(async () => {
  await boot(Office.context?.displayLanguage);
  if (!Office.context?.document) {
    say(t("outsideOffice"));
    return;
  }
  pane = new FilingPane(document.getElementById("pane"), { actionLabel: t("saveDocument"), onAction: save });
  await open();
});

async function open() {
  clearError();
  try {
    saved = await readSavedIds();
    const uploaded = await uploadDocument();
    saved ??= idsFromProperties(uploaded.metadata?.custom_properties);
    openedItemId = uploaded.id;
    say(t("suggesting"));
    suggestions = (await withSignIn(() => api.get(`/api/v1/items/${uploaded.id}/suggestions?limit=5`))).suggestions;
    savedCase = saved ? await lookUpCase(saved.caseId) : null;
    showForm(uploaded.metadata?.title ?? fileTitle());
    say(t("readyDocument"));
  } catch (error) {
    showError(error, open);
  }
}

/** A document saved before goes to its case again, unless the user makes it a new document. */
function showForm(title) {
  if (!saved) {
    notice().replaceChildren();
    pane.show({ suggestions, title, actionLabel: t("saveDocument"), itemId: openedItemId });
    return;
  }
  notice().replaceChildren(h("p", {
    class: "existing", id: "saved-before", "data-document-id": saved.documentId,
    text: t("existingDocument", { case: savedCase.number ?? savedCase.id, doc: saved.documentId }),
  }));
  pane.show({
    title,
    locked: savedCase,
    actionLabel: t("saveVersion"),
    onUnlock: () => {
      saved = null;
      savedCase = null;
      showForm(pane.titleInput.value);
    },
  });
}

function fileTitle() {
  const url = Office.context.document.url ?? "";
  const name = decodeURIComponent(url.split(/[\\/]/).pop() ?? "").replace(/\.docx?$/i, "");
  return name;
}

function idsFromProperties(properties) {
  const documentId = properties?.[DOCUMENT_ID];
  const caseId = properties?.[CASE_ID];
  return documentId && caseId ? { documentId, caseId } : null;
}

/** The document as it is now, as DOCX bytes, uploaded. */
async function uploadDocument() {
  say(t("readingDocument"));
  let bytes;
  try {
    bytes = await documentBytes();
  } catch (error) {
    throw new OfficeError(t("getFileFailed", { reason: error.message }));
  }
  say(t("uploadingDocument"));
  return withSignIn(() => api.postBytes("/api/v1/items", bytes, DOCX_TYPE));
}

/** Reads the compressed (DOCX) file slice by slice, and always closes it: Word keeps at most two open. */
async function documentBytes() {
  const file = await officeAsync((done) =>
    Office.context.document.getFileAsync(Office.FileType.Compressed, { sliceSize: SLICE_SIZE }, done));
  try {
    const slices = [];
    let total = 0;
    for (let index = 0; index < file.sliceCount; index += 1) {
      const slice = await officeAsync((done) => file.getSliceAsync(index, done));
      const part = Uint8Array.from(slice.data);
      slices.push(part);
      total += part.length;
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const part of slices) {
      bytes.set(part, offset);
      offset += part.length;
    }
    return bytes;
  } finally {
    await officeAsync((done) => file.closeAsync(done)).catch(() => {});
  }
}

async function readSavedIds() {
  if (!canUseProperties()) return null;
  return Word.run(async (context) => {
    const properties = context.document.properties.customProperties;
    properties.load("items/key,items/value");
    await context.sync();
    const found = Object.fromEntries(properties.items.map((p) => [p.key, String(p.value)]));
    return idsFromProperties(found);
  });
}

function canUseProperties() {
  return typeof globalThis.Word?.run === "function" && supports("WordApi", "1.3");
}

async function writeSavedIds(documentId, caseId) {
  if (!canUseProperties()) return;
  try {
    await Word.run(async (context) => {
      const properties = context.document.properties.customProperties;
      properties.add(DOCUMENT_ID, documentId);
      properties.add(CASE_ID, caseId);
      await context.sync();
    });
  } catch (error) {
    showError(new Error(t("propertiesFailed", { reason: error.message })));
  }
}

/** Saving reads the document again: it may have changed since the pane opened. */
async function save(order) {
  const uploaded = await uploadDocument();
  const request = { item_id: uploaded.id, case_id: order.caseId, title: order.title || null };
  if (saved && saved.caseId === order.caseId) request.version_of = saved.documentId;
  const accepted = await api.postJson("/api/v1/filings", request);
  const settled = await followFiling(accepted, (f) => pane.showFiling(f, order.caseLabel));
  if (settled?.state !== "filed" || !settled.target_document_id) return;
  await writeSavedIds(settled.target_document_id, settled.case_id);
  saved = { documentId: settled.target_document_id, caseId: settled.case_id };
  savedCase = await lookUpCase(settled.case_id);
  showForm(pane.titleInput.value);
  if (!canUseProperties()) notice().append(h("p", { class: "hint", text: t("propertiesUnsupported") }));
  pane.showFiling(settled, order.caseLabel);
}
