// Outlook, reading a mail no case fits: "Opret ny sag" opens the service's proposal, the KLE
// subject is chosen by searching the plan, the title changed, and one click creates the case
// and files the mail on it.

import { assert, assertEqual } from "./harness.js";
import { FakeHost } from "./host.js";
import { WORD } from "./word.js";

const OUTLOOK = { host: "outlook", displayLanguage: "da-DK", sets: { Mailbox: "1.14" } };
const SUBJECT = "SV: Høns i haven";
const mail = Buffer.from(
  [
    "From: Karl Smed <karl.smed@borger.example>",
    "To: post@vejstrand.example",
    `Subject: ${SUBJECT}`,
    "Message-ID: <hoens-i-haven-1@borger.example>",
    "Date: Tue, 1 Dec 2026 09:00:00 +0100",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Må jeg holde seks høns og en hane i min have på Mosebakken 3? Hønsehuset bliver 4 m².",
    "",
  ].join("\r\n"),
  "utf8",
);

export async function newCase(harness) {
  const host = new FakeHost();
  host.addMail("mail-hoens", SUBJECT, mail);
  const pane = await harness.open("outlook.html", { office: { ...OUTLOOK, selected: "mail-hoens" }, host });
  const { page } = pane;

  await page.locator("#new-case").click();
  await page.waitForSelector("#new-case-title");
  const proposed = await page.$eval("#new-case-title", (i) => i.value);
  assert(proposed.includes("Karl Smed") && proposed.endsWith("Høns i haven") && !proposed.includes("SV:"), `the proposed title ${proposed}`);
  assertEqual(await page.$$eval("#new-case-parties .party-name", (s) => s.map((x) => x.textContent)), ["Karl Smed", "karl.smed@borger.example"], "the proposed parties");
  assertEqual(await page.$eval("#new-case-groups", (i) => i.value), "social, boern", "the user's groups proposed");
  assertEqual(await page.$eval("#action", (b) => b.textContent.trim()), "Opret sag og journalisér", "the action");

  // The subject chosen by searching the plan's titles, the title made the user's own.
  await page.locator("#new-case-kle input").fill("styrelse");
  await page.locator('#kle-results .kle-option[data-number="00.01.00"]').click();
  assertEqual(await page.$eval("#new-case-kle", (i) => i.value), "00.01.00", "the chosen subject");
  await page.locator("#new-case-title input").fill("Hønsehold på Mosebakken 3 – Karl Smed");
  await page.locator("#new-case-groups input").fill("");
  await pane.checkAccessible("da");
  await pane.screenshot("outlook-new-case");

  const facet = await page.$eval("#new-case-facet", (i) => i.value);
  // By keyboard: the subject's search results may still move the page under a pointer.
  await pane.tabTo("#action");
  await page.keyboard.press("Enter");
  await pane.text("#result", /Journaliseret som dok\. \S+ på sag NS-/);
  const filingId = await page.$eval("#result", (r) => r.dataset.filingId);
  const filing = await harness.api(`/api/v1/filings/${filingId}`);
  assertEqual(filing.state, "filed", "the filing");
  const created = await harness.api(`/api/v1/cases/${encodeURIComponent(filing.case_id)}`);
  assertEqual([created.title, created.kle, created.facet, created.groups], ["Hønsehold på Mosebakken 3 – Karl Smed", "00.01.00", facet || null, []], "the case created");
  assertEqual(created.parties.map((p) => p.value).sort(), ["Karl Smed", "karl.smed@borger.example"], "its parties");
  await pane.close();
}


// Word, saving a document no case fits: the same proposal, a new case, and the document saved on
// it, with the case's and the document's ids kept in the document for its next version.
export async function newCaseWord(harness) {
  const host = new FakeHost();
  host.openDocument("Notat om oprensning af vandhul ved Kildevej 9", [
    "Notat om ansøgning om oprensning af et vandhul på matriklen ved Kildevej 9.",
    "Lodsejer Birthe Holm ønsker at fjerne slam og tilgroning fra vandhullet i efteråret.",
  ]);
  const office = { ...WORD, documentUrl: "https://vejstrand.sharepoint.example/natur/Notat%20om%20vandhuller.docx" };
  const pane = await harness.open("word.html", { office, host });
  const { page } = pane;
  await pane.text("#action", /Gem på sag/);

  await page.locator("#new-case").click();
  await page.waitForSelector("#new-case-title");
  const proposed = await page.$eval("#new-case-title", (i) => i.value);
  assert(proposed.includes("Notat om oprensning af vandhul ved Kildevej 9"), `the title proposed from the document: ${proposed}`);
  assertEqual(await page.$eval("#action", (b) => b.textContent.trim()), "Opret sag og journalisér", "the action");
  await page.locator("#new-case-kle input").fill("styrelse");
  await page.locator('#kle-results .kle-option[data-number="00.01.00"]').click();
  await page.locator("#new-case-title input").fill("Oprensning af vandhul – Kildevej 9");
  await page.locator("#new-case-groups input").fill("");
  await pane.checkAccessible("da");
  await pane.screenshot("word-new-case");

  await pane.tabTo("#action");
  await page.keyboard.press("Enter");
  await pane.text("#result", /dok\. \S+ på sag NS-/);
  const filingId = await page.$eval("#result", (r) => r.dataset.filingId);
  const filing = await harness.api(`/api/v1/filings/${filingId}`);
  assertEqual(filing.state, "filed", "the filing");
  const created = await harness.api(`/api/v1/cases/${encodeURIComponent(filing.case_id)}`);
  assertEqual([created.title, created.kle], ["Oprensning af vandhul – Kildevej 9", "00.01.00"], "the case created");
  assertEqual(host.word.properties, { JournaliserDocumentId: filing.target_document_id, JournaliserCaseId: filing.case_id }, "the ids kept in the document");
  await pane.text("#action", /Gem ny version/);
  await pane.close();
}
