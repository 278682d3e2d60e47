// Outlook, reading: the pane uploads the selected mail, suggests its case with reasons, offers
// the attachments' choices, files it, follows the filing until the archive has it, marks the mail,
// follows the selection while pinned, and knows a filed mail when it sees it again.

import { readFileSync } from "node:fs";

import { assert, assertEqual, eventually } from "./harness.js";
import { FakeHost } from "./host.js";

const fixture = (name) => readFileSync(new URL(`../fixtures/mail/${name}`, import.meta.url));
export const DATA_PROTECTION_CASE = "VK-2026-0031";
export const CARPORT_CASE = "VK-2026-0007";
const OUTLOOK = { host: "outlook", displayLanguage: "da-DK", sets: { Mailbox: "1.14" } };

export async function outlookRead(harness) {
  const host = new FakeHost();
  host.addMail("mail-odt", "Mail med inline billede og vedhæftet fil", fixture("mail-with-inline-img-and-attached-odt.eml"));
  host.addMail("mail-carport", "SV: Carport på Skovvej 12 – skal jeg søge byggetilladelse?", fixture("carport-svar.eml"));
  const pane = await harness.open("outlook.html", { office: { ...OUTLOOK, selected: "mail-odt" }, host });
  const { page } = pane;

  // The token went from the address into the session, and out of the address bar.
  assertEqual(await page.evaluate(() => location.hash), "", "the address after the token was taken");

  const cases = await pane.suggestedCases();
  assertEqual(cases[0], DATA_PROTECTION_CASE, "the first suggestion");
  const first = page.locator(`[data-group="suggestions"] .case-option[data-case-id="${DATA_PROTECTION_CASE}"]`);
  assert(/(\d+|> 99|< 1) % sikker/.test(await first.locator(".confidence").textContent()), "the confidence is shown as a percentage");
  assert((await first.locator(".reasons li").count()) > 0, "the first suggestion gives its reasons");
  assertEqual(await page.$eval('[data-group="suggestions"]', (g) => g.value), DATA_PROTECTION_CASE, "the preselected case");
  assertEqual(await page.$eval("#title-input", (i) => i.value), "Mail med inline billede og vedhæftet fil", "the prefilled title");

  // The inline image is skipped by default, the attached letter goes with the mail.
  const modes = await page.$$eval(".attachment fluent-radio-group", (groups) => groups.map((g) => [g.dataset.index, g.value]));
  assertEqual(modes, [["0", "skip"], ["1", "with_mail"]], "the attachments' default choices");
  assertEqual(await page.$$eval(".attachment-name", (names) => names.map((n) => n.firstChild.textContent)), ["cpr.jpg", "embedded-cpr.odt"], "the attachments listed");
  await pane.checkAccessible("da");
  await pane.screenshot("outlook-read");

  // The letter as a document of its own, a title of the user's, filed by keyboard.
  await page.locator('.attachment[data-index="1"] label', { hasText: "Separat dokument" }).click();
  await page.locator("#title-input input").fill("Henvendelse om databehandling");
  // Later replies of the thread filed on the case too, ticked by keyboard.
  await pane.tabTo("#follow-thread");
  await page.keyboard.press("Space");
  assert(await page.$eval("#follow-thread", (box) => box.checked), "the thread followed");
  await pane.tabTo("#action");
  await page.keyboard.press("Enter");
  const result = await pane.text("#result", /Journaliseret som dok\. \S+ på sag 85\.02\.02-G01-73-26/);
  const filingId = await page.$eval("#result", (r) => r.dataset.filingId);
  await pane.text("#following", /Svar i tråden journaliseres også på sag/);
  const followed = await harness.api("/api/v1/threads");
  assertEqual(followed.threads.map((f) => [f.filing_id, f.case_id]), [[filingId, DATA_PROTECTION_CASE]], "the thread followed");

  // The mail is marked in Outlook: the category (created in the master list first) and the filing id.
  const mail = host.item("mail-odt");
  await eventually(() => mail.categories.includes("Journaliseret") && mail.props.journaliserFilingId, "the mail marked");
  assertEqual(mail.props.journaliserFilingId, filingId, "the filing id kept on the mail");
  assertEqual(host.masterCategories.map((c) => c.displayName), ["Journaliseret"], "the master category list");
  await pane.text("#marked", /markeret «Journaliseret»/);

  // What the pane asked for is what the service filed.
  const filing = await harness.api(`/api/v1/filings/${filingId}`);
  assertEqual([filing.state, filing.confirmed, filing.case_id, filing.title], ["filed", true, DATA_PROTECTION_CASE, "Henvendelse om databehandling"], "the filing");
  assertEqual(filing.attachments, [{ index: 0, mode: "skip" }, { index: 1, mode: "separate" }], "the attachments filed");
  assert(result.includes(filing.target_document_id), "the pane names the archive's document id");
  await pane.screenshot("outlook-filed");

  // Pinned: another mail selected, then none, then the filed one again.
  // The carport reply answers a mail filed on the carport case: it was filed by itself, and
  // the pane says why and offers to undo it.
  await page.evaluate(() => window.__fakeOffice.select("mail-carport"));
  await pane.text(".existing", /Journaliseret automatisk på sag 02\.34\.02-G01-12-26.*, fordi en tidligere mail i tråden er journaliseret på sagen/);
  await pane.checkAccessible("da");
  await pane.screenshot("outlook-filed-automatically");
  await page.locator(".automatic fluent-button[id^='undo-']").click();
  await pane.text(".existing", /fortrudt/);
  await eventually(async () => (await pane.suggestedCases())[0] === CARPORT_CASE, "the carport case first for the carport mail");
  assertEqual(await page.$$eval(".attachment fluent-radio-group", (g) => g.map((x) => x.value)), ["skip"], "the inline logo skipped");
  await page.evaluate(() => window.__fakeOffice.select(null));
  await pane.text("#status", /Vælg en mail/);
  assert(await page.$eval("#pane", (p) => p.hidden), "no form without a mail");
  await page.evaluate(() => window.__fakeOffice.select("mail-odt"));
  const again = await pane.text(".existing", /allerede journaliseret på sag 85\.02\.02-G01-73-26/);
  assert(again.includes(filing.target_document_id), "the earlier filing's document id is named");
  assert(await page.$eval("#pane", (p) => p.hidden), "no second filing is offered straight away");
  await pane.checkAccessible("da");
  await pane.screenshot("outlook-already-filed");
  // Filing it elsewhere stays possible, on purpose.
  await page.locator("#file-elsewhere").click();
  await page.waitForSelector("#action");
  await pane.close();
}
