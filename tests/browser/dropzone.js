// The page without Office: sign in with a pasted token, drop a document, file it by keyboard,
// choose another through the file picker, and see clear errors for a bad token and a bad file.

import { readFileSync } from "node:fs";

import { assert, assertEqual, eventually } from "./harness.js";
import { docx } from "./docx.js";
import { CARPORT_CASE } from "./outlook-read.js";

const WINTER_CASE = "VK-2026-0002";
const CAFE_CASE = "VK-2026-0026";
const DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

const winterReply = docx({
  title: "Svar på klage over glatførebekæmpelse på Bakkevej",
  paragraphs: [
    "Kære Birthe Lauritsen",
    "Tak for din klage over vinterbekæmpelsen på Bakkevej. Bakkevej er en lokalvej i klasse 3, hvor vi salter og rydder sne efter de store veje og busruterne.",
    "Vi har bedt entreprenøren om at salte Bakkevej tidligere om morgenen, når der er varslet glatføre.",
  ],
});

const cafeNote = docx({
  title: "Notat om udeservering ved Café Mågen",
  paragraphs: [
    "Café Mågen Vejstrand ApS har søgt om tilladelse til udeservering på fortovet ved Havnegade 3.",
    "Der skal være mindst 1,5 meter fri passage på fortovet, og borde og stole skal tages ind efter lukketid.",
  ],
});

// A reply of its own in the carport thread: the fixture's own Message-ID is the one the
// reading pane's scenario files and undoes.
const carportMail = Buffer.from(
  readFileSync(new URL("../fixtures/mail/carport-svar.eml", import.meta.url), "latin1")
    .replace("<svar-2-carport-skovvej12@", "<svar-3-carport-skovvej12@"),
  "latin1",
);
const outlookMail = readFileSync(new URL("../fixtures/mail/attachment-files.msg", import.meta.url));

/** Drops `bytes` as a file on the drop zone, as a browser does when a file is dragged there. */
async function drop(page, name, type, bytes) {
  await page.evaluate(([fileName, fileType, base64]) => {
    const binary = atob(base64);
    const data = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([data], fileName, { type: fileType }));
    const zone = document.getElementById("drop");
    for (const kind of ["dragenter", "dragover", "drop"]) {
      zone.dispatchEvent(new DragEvent(kind, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }
  }, [name, type, Buffer.from(bytes).toString("base64")]);
}

export async function dropzone(harness) {
  // No token in the address: the page asks for one, and refuses a wrong one clearly.
  let pane = await harness.open("", { token: null });
  let { page } = pane;
  await page.waitForSelector("#signin:not([hidden]) #token-input");
  await pane.checkAccessible("da");
  await page.locator("#token-input input").fill("not-a-token");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#signin", { state: "hidden" });
  pane.allowConsoleError(/status of 401/);
  await drop(page, "svar-bakkevej.docx", DOCX_TYPE, winterReply);
  await pane.text("#signin", /ikke logget ind/);
  await page.locator("#token-input input").fill(harness.token);
  await page.keyboard.press("Enter");
  assertEqual((await pane.suggestedCases())[0], WINTER_CASE, "the first suggestion after signing in");
  await pane.close();

  pane = await harness.open("");
  page = pane.page;
  // Listening from the start: Playwright intercepts file choosers only once someone listens.
  const choosers = [];
  page.on("filechooser", (chooser) => choosers.push(chooser));
  assertEqual(await page.evaluate(() => location.hash), "", "the address after the token was taken");
  await pane.checkAccessible("da");
  await pane.screenshot("dropzone-empty");

  await drop(page, "svar-bakkevej.docx", DOCX_TYPE, winterReply);
  await pane.text("#chosen", /svar-bakkevej\.docx/);
  assertEqual((await pane.suggestedCases())[0], WINTER_CASE, "the first suggestion for the dropped reply");
  assertEqual(await page.$eval("#title-input", (i) => i.value), "Svar på klage over glatførebekæmpelse på Bakkevej", "the title");
  assertEqual(await page.$$eval(".attachment", (a) => a.length), 0, "attachment choices for a document");
  await pane.checkAccessible("da");
  await pane.screenshot("dropzone");

  // Everything by keyboard: Tab to the button, Enter.
  await pane.tabTo("#action");
  await page.keyboard.press("Enter");
  await pane.text("#result", /Journaliseret som dok\. \S+ på sag 05\.13\.00-K07-4-26/);
  const filing = await harness.api(`/api/v1/filings/${await page.$eval("#result", (r) => r.dataset.filingId)}`);
  assertEqual([filing.state, filing.case_id], ["filed", WINTER_CASE], "the dropped document's filing");

  // The network gone for one upload: said plainly, with a retry that works once it is back.
  pane.allowConsoleError(/ERR_FAILED|ERR_INTERNET_DISCONNECTED/);
  await page.route("**/api/v1/items", (route) => route.abort("internetdisconnected"), { times: 1 });
  await drop(page, "udeservering.docx", DOCX_TYPE, cafeNote);
  await pane.text("#alert", /Kan ikke nå Journaliser-serveren/);
  await page.locator("#alert fluent-button").click();
  assertEqual((await pane.suggestedCases())[0], CAFE_CASE, "the first suggestion after the retry");
  assert(await page.$eval("#alert", (a) => a.hidden), "the error is gone after the retry");

  // The file picker, opened from the keyboard.
  await page.locator("#pick").focus();
  await page.keyboard.press("Enter");
  const chooser = await eventually(() => choosers[0], "the file chooser opened by Enter on the button");
  await chooser.setFiles({ name: "carport-svar.eml", mimeType: "message/rfc822", buffer: carportMail });
  await pane.text("#chosen", /carport-svar\.eml/);
  // A reply in a thread filed on the carport case, filed by itself; moved back and forth by
  // the pane's "Flyt til anden sag", it ends up where the user chose.
  await pane.text(".existing", /Journaliseret automatisk på sag 02\.34\.02-G01-12-26/);
  await page.locator(".automatic fluent-button[id^='move-']").click();
  assertEqual((await pane.suggestedCases())[0], CARPORT_CASE, "the first suggestion for the chosen mail");
  assertEqual(await page.$$eval(".attachment fluent-radio-group", (g) => g.map((x) => x.value)), ["skip"], "the mail's inline logo skipped");

  // A mail dragged out of classic Outlook arrives as a .msg: read as a mail, with its attachments.
  assert((await page.$eval("#drop-intro", (p) => p.textContent)).includes("MSG"), "the drop zone's hint names MSG");
  await drop(page, "attachmentFiles.msg", "application/vnd.ms-outlook", outlookMail);
  await pane.text("#chosen", /attachmentFiles\.msg/);
  await pane.suggestedCases();
  assertEqual(await page.$eval("#title-input", (i) => i.value), "attachmentFiles", "the .msg's subject as the title");
  assertEqual(await page.$$eval(".attachment", (a) => a.length), 3, "attachment choices for the .msg's three pictures");

  // The same reply dropped again: already filed, said with its case.
  await drop(page, "svar-bakkevej.docx", DOCX_TYPE, winterReply);
  await pane.text(".existing", /allerede gemt på sag 05\.13\.00-K07-4-26/);

  // A subject longer than a title may be: the pane cuts it to the service's limit and says so,
  // so the filing is not refused.
  const longSubject = `Indsigelse mod byggeri på Skovvej ${"og naboernes udsigt ".repeat(20)}`.trim();
  const longMail = Buffer.from([
    "From: Nabo <nabo@example.dk>", "To: byg@vejstrand.example", `Subject: ${longSubject}`,
    "Date: Wed, 25 Nov 2026 10:00:00 +0100", "Message-ID: <lang-titel@example.dk>",
    "Content-Type: text/plain; charset=utf-8", "", "Se emnet.", "",
  ].join("\r\n"));
  await drop(page, "lang.eml", "message/rfc822", longMail);
  await pane.text("#title-cut", /forkortet til 250 tegn/);
  const title = await page.$eval("#title-input", (input) => input.value);
  assertEqual([...title].length, 250, "the pre-filled title's length");
  assert(longSubject.startsWith(title), "the title is the subject's beginning");

  // A file the service cannot take: a clear error in the pane, not a silent failure.
  pane.allowConsoleError(/status of 415/);
  await drop(page, "billede.png", "image/png", Buffer.from("89504e470d0a1a0a", "hex"));
  const alert = await pane.text("#alert", /filtype kan ikke journaliseres/);
  assert(!(await page.$eval("#alert", (a) => a.hidden)), "the error is shown");
  assert(alert.length > 0, "the error says why");
  await pane.screenshot("dropzone-error");
  await pane.close();
}
