// The pane without Office: a mail (MSG or EML), Word document (DOCX) or PDF dropped or chosen in an
// ordinary browser goes through the same suggestions and filing as in Outlook and Word.

import {
  FilingPane, api, boot, clearError, earlierFilings, followFiling, formatSize, h, say,
  showEarlier, showError, t, withSignIn,
} from "./app.js";

const requested = new URLSearchParams(location.search).get("lang");
const browserLanguage = (navigator.languages ?? [navigator.language]).find((l) => /^da\b/i.test(l));

await boot(requested ?? browserLanguage ?? navigator.language);

const pane = new FilingPane(document.getElementById("pane"), { actionLabel: t("fileMail") });
const zone = document.getElementById("drop");
const picker = document.getElementById("file");
const notice = document.getElementById("notice");
let generation = 0;

document.getElementById("pick").addEventListener("click", () => picker.click());
picker.addEventListener("change", () => {
  if (picker.files?.length) open(picker.files[0]);
  picker.value = "";
});

for (const type of ["dragenter", "dragover"]) {
  zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
}
zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("dragging");
  const file = event.dataTransfer?.files?.[0];
  if (file) open(file);
});

async function open(file) {
  const mine = ++generation;
  const current = () => mine === generation;
  pane.clear();
  clearError();
  notice.replaceChildren(h("p", { class: "chosen", id: "chosen", text: t("chosenFile", { name: file.name, size: formatSize(file.size) }) }));
  try {
    say(/\.(eml|msg)$/i.test(file.name) ? t("uploadingMail") : t("uploadingDocument"));
    const uploaded = await withSignIn(() => api.postFile("/api/v1/items", file));
    if (!current()) return;
    say(t("suggesting"));
    const answer = await withSignIn(() => api.get(`/api/v1/items/${uploaded.id}/suggestions?limit=5`));
    if (!current()) return;
    const mail = uploaded.kind === "mail";
    const title = (mail ? uploaded.metadata?.subject : uploaded.metadata?.title) ?? file.name.replace(/\.[^.]+$/, "");
    pane.onAction = async (order) => {
      const accepted = await api.postJson("/api/v1/filings", {
        item_id: uploaded.id,
        case_id: order.caseId,
        title: order.title || null,
        attachments: order.attachments,
      });
      const settled = await followFiling(accepted, (f) => pane.showFiling(f, order.caseLabel), current);
      if (settled?.state === "filed") pane.finish();
    };
    const form = () => pane.show({
      suggestions: answer.suggestions,
      title,
      attachments: mail ? uploaded.metadata?.attachments ?? [] : [],
      actionLabel: mail ? t("fileMail") : t("saveDocument"),
    });
    const earlier = await earlierFilings(uploaded);
    if (!current()) return;
    if (earlier.length) {
      showEarlier({
        container: notice,
        earlier,
        kind: mail ? "mail" : "document",
        openForm: form,
        stillWanted: current,
        // "Flyt til anden sag": the next choice undoes the automatic filing and files there.
        onMove: (filing) => {
          pane.onAction = async (order) => {
            const undone = await api.postJson(`/api/v1/filings/${encodeURIComponent(filing.id)}/undo`, {
              reason: "Flyttet i ruden",
              move_to: order.caseId,
            });
            const settled = await followFiling(undone.moved_to, (f) => pane.showFiling(f, order.caseLabel), current);
            if (settled?.state === "filed") pane.finish();
          };
        },
      });
    } else {
      form();
      say(mail ? t("ready") : t("readyDocument"));
    }
  } catch (error) {
    if (current()) showError(error, () => open(file));
  }
}
