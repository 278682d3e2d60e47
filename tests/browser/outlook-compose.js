// Outlook, writing: "Journalisér ved afsendelse" records the intent with the service and stamps
// the draft with its opaque reference; the send handler lets every mail go (and restores a lost
// stamp); the sent copy, opened in the reading pane, is filed on the chosen case by the service.

import { readFileSync } from "node:fs";

import { assert, assertEqual, eventually } from "./harness.js";
import { FakeHost } from "./host.js";
import { CARPORT_CASE } from "./outlook-read.js";

const HEADER = "X-Journaliser-Ref";
const SUBJECT = "SV: Carport på Skovvej 12 – skal jeg søge byggetilladelse?";
const DRAFT_BODY =
  "Kære Mette Kjær\n\nTak for dine tegninger af carporten på Skovvej 12. Den kræver byggetilladelse.\n\n" +
  "> Fra: Mette Kjær <mette.kjaer@borger.example>\n> Hej. Jeg vil bygge en carport med redskabsrum på Skovvej 12.";
const OUTLOOK = { host: "outlook", displayLanguage: "da-DK", sets: { Mailbox: "1.14" } };

/**
 * The handler as Outlook calls it on send, once its runtime is ready; resolves with what the
 * handler passed to `completed`.
 */
async function send(page) {
  await page.waitForFunction(() => typeof window.__fakeOffice?.actions.onMessageSendHandler === "function");
  return page.evaluate(async () => {
    await window.Office.onReady();
    return new Promise((resolve) => {
      window.__fakeOffice.actions.onMessageSendHandler({ completed: (options) => resolve(options) });
    });
  });
}

export async function outlookCompose(harness) {
  const host = new FakeHost();
  host.addDraft("draft-carport", SUBJECT, DRAFT_BODY);
  host.addDraft("draft-plain", "Frokost på fredag?", "Skal vi spise sammen på fredag?");
  const pane = await harness.open("outlook.html", { office: { ...OUTLOOK, selected: "draft-carport" }, host });
  const { page } = pane;
  await pane.text("#heading", /Journalisér ved afsendelse/);
  await page.waitForSelector("#action");
  assertEqual(await page.$eval("#title-input", (i) => i.value), SUBJECT, "the title from the draft's subject");

  // The case found by search, chosen with the keyboard.
  await page.locator("#case-search input").fill("Skovvej 12");
  await page.waitForSelector(`[data-group="results"] .case-option[data-case-id="${CARPORT_CASE}"]`);
  await page.locator(`[data-group="results"] .case-option[data-case-id="${CARPORT_CASE}"] label`).click();
  assertEqual(await page.$eval('[data-group="results"]', (g) => g.value), CARPORT_CASE, "the chosen case");
  await pane.checkAccessible("da");
  await pane.tabTo("#action");
  await page.keyboard.press("Enter");
  await pane.text("#intent", /journaliseres på sag 02\.34\.02-G01-12-26, når den er sendt/);
  const reference = await page.$eval("#intent", (p) => p.dataset.reference);
  assert(reference, "the intent's reference");

  // The draft carries the reference, and only the reference.
  const draft = host.item("draft-carport");
  assertEqual(draft.headers, { [HEADER]: reference }, "the draft's internet headers");
  assertEqual(JSON.parse(draft.session.journaliser).reference, reference, "the session data");
  assertEqual(draft.props.journaliserRef, reference, "the custom property");
  assert(!JSON.stringify(draft.headers).includes("02.34.02"), "no case number in a header");
  await pane.screenshot("outlook-compose");
  await pane.close();

  // The send handler, in the commands page: quick, allows the send, touches no network.
  const commands = await harness.open("commands.html", { office: { ...OUTLOOK, selected: "draft-carport" }, host });
  assertEqual(await send(commands.page), { allowEvent: true }, "sending the chosen mail");
  // A stamp lost on the way (another add-in, a client that dropped it) is restored from the session.
  delete draft.headers[HEADER];
  assertEqual(await send(commands.page), { allowEvent: true }, "sending after the header was lost");
  assertEqual(draft.headers, { [HEADER]: reference }, "the restored header");
  await commands.close();
  const plain = await harness.open("commands.html", { office: { ...OUTLOOK, selected: "draft-plain" }, host });
  assertEqual(await send(plain.page), { allowEvent: true }, "sending a mail nobody chose to file");
  assertEqual(host.item("draft-plain").headers, {}, "an ordinary mail's headers");
  await plain.close();

  // The sent copy (as Exchange keeps it, with the header) opened in the reading pane: the
  // service files it on the chosen case by itself, and the pane says so and marks it.
  // A mail of its own: the fixture's Message-ID is the reply another scenario filed already.
  const written = readFileSync(new URL("../fixtures/mail/carport-svar.eml", import.meta.url), "latin1")
    .replace("<svar-2-carport-skovvej12@", "<sendt-carport-skovvej12@");
  const sent = Buffer.concat([Buffer.from(`${HEADER}: ${reference}\r\n`), Buffer.from(written, "latin1")]);
  host.addMail("sent-carport", SUBJECT, sent);
  const reading = await harness.open("outlook.html", { office: { ...OUTLOOK, selected: "sent-carport" }, host });
  const said = await reading.text(".existing", /Journaliseret automatisk på sag 02\.34\.02-G01-12-26.*, fordi du valgte sagen, da du skrev mailen\. Dok\./);
  const filingId = await reading.page.$eval(".existing", (p) => p.dataset.filingId);
  const filing = await harness.api(`/api/v1/filings/${filingId}`);
  assertEqual([filing.state, filing.case_id], ["filed", CARPORT_CASE], "the sent copy's filing");
  assert(said.includes(filing.target_document_id), "the document id is named");
  await eventually(() => host.item("sent-carport").categories.includes("Journaliseret"), "the sent copy marked");
  await reading.screenshot("outlook-sent-filed");
  await reading.close();
}
