// Word: "Gem på sag" reads the document in slices, suggests its case from its text, saves it,
// keeps the archive's document id in the document, and makes the next save a new version of the
// same document.

import { assert, assertEqual, eventually } from "./harness.js";
import { FakeHost } from "./host.js";

const BUILDING_CASE = "VK-2026-0001";
export const WORD = {
  host: "word",
  displayLanguage: "da-DK",
  sets: { WordApi: "1.3", File: "1.1", CompressedFile: "1.1" },
  documentUrl: "https://vejstrand.sharepoint.example/byggesager/Notat%20om%20partsh%C3%B8ring.docx",
};

export async function word(harness) {
  const host = new FakeHost();
  host.openDocument("Notat om partshøring – tilbygning Strandvejen 41", [
    "Notat om partshøring af naboen vedrørende ansøgning om byggetilladelse til tilbygning på Strandvejen 41.",
    "Ansøger Henrik Damgaard har ved Tegnestuen Kvist ApS (CVR 72011643) søgt om tilladelse til en tilbygning på 32 m² mod syd.",
    "Naboen på Strandvejen 43 er hørt over tilbygningens højde og afstand til skel.",
  ]);
  let pane = await harness.open("word.html", { office: WORD, host });
  let { page } = pane;
  const cases = await pane.suggestedCases();
  assertEqual(cases[0], BUILDING_CASE, "the first suggestion for the building note");
  assertEqual(await page.$eval("#title-input", (i) => i.value), "Notat om partshøring – tilbygning Strandvejen 41", "the title from the document");
  assertEqual(await page.$eval("#action", (b) => b.textContent.trim()), "Gem på sag", "the button");
  await pane.checkAccessible("da");
  await pane.screenshot("word");

  await page.locator("#action").click();
  await pane.text("#result", /dok\. \S+/);
  const firstId = await page.$eval("#result", (r) => r.dataset.filingId);
  const first = await harness.api(`/api/v1/filings/${firstId}`);
  assertEqual([first.state, first.case_id], ["filed", BUILDING_CASE], "the first save");
  const documentId = first.target_document_id;
  assert(documentId, "the archive gave a document id");

  // The id went into the document; every file Word opened was closed again, read in slices.
  await eventually(() => host.word.properties.JournaliserDocumentId, "the document id written into the document");
  assertEqual(host.word.properties, { JournaliserDocumentId: documentId, JournaliserCaseId: BUILDING_CASE }, "the custom document properties");
  assertEqual(host.openFiles.size, 0, "files left open in Word");
  assert(host.log.filter((op) => op === "word.slice").length > 2, "the document was read in several slices");
  await pane.text("#action", /Gem ny version/);

  // Edited, then saved again: a new version of the same document.
  host.word.paragraphs.push("Tilføjet efter høringen: naboen har ingen bemærkninger til tilbygningen.");
  await page.locator("#action").click();
  await eventually(async () => (await page.$eval("#result", (r) => r.dataset.filingId)) !== firstId, "a second filing");
  await pane.text("#result", /version 2/);
  const secondId = await page.$eval("#result", (r) => r.dataset.filingId);
  const second = await harness.api(`/api/v1/filings/${secondId}`);
  assertEqual([second.state, second.case_id, second.target_document_id, second.version], ["filed", BUILDING_CASE, documentId, 2], "the second save");
  assertEqual(host.openFiles.size, 0, "files left open in Word after the second save");
  await pane.close();

  // Opened again later: the pane knows the document and offers a new version on its case.
  pane = await harness.open("word.html", { office: WORD, host });
  page = pane.page;
  const known = await pane.text("#saved-before", /gemt på sag 02\.34\.02-G01-3-26/);
  assert(known.includes(documentId), "the known document id is named");
  assertEqual(await page.$eval(".locked-case", (c) => c.dataset.caseId), BUILDING_CASE, "the case it goes to");
  await pane.text("#action", /Gem ny version/);
  await pane.checkAccessible("da");
  await pane.screenshot("word-saved-before");
  await pane.close();

  // The same pane in English for an English Office.
  pane = await harness.open("word.html", { office: { ...WORD, displayLanguage: "en-US" }, host });
  await pane.text("#action", /Save new version/);
  await pane.checkAccessible("en");
  await pane.close();
}
