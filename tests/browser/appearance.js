// The panes follow Office's theme (and, outside Office, the browser's colour scheme), and sign
// in by whatever route the host supports when it lacks nested app authentication.

import { assert, assertEqual, eventually } from "./harness.js";
import { FakeHost } from "./host.js";
import { CARPORT_CASE } from "./outlook-read.js";

let mails = 0;
/** A mail no other scenario has filed (a filed one shows its filing instead of suggestions). */
function freshMail() {
  mails += 1;
  return Buffer.from([
    "From: Mette Kjær <mette.kjaer@borger.example>",
    "To: Byg og Miljø <byg@vejstrand.example>",
    "Subject: Carport på Skovvej 12",
    `Message-ID: <appearance-${mails}-${Date.now()}@borger.example>`,
    "Date: Tue, 01 Dec 2026 09:00:00 +0100",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Hej. Skal jeg søge byggetilladelse til en carport på Skovvej 12, eller er den fri af reglerne?",
    "",
  ].join("\r\n"));
}
/** Office's dark theme, as `Office.context.officeTheme` gives it. */
const DARK_OFFICE = {
  bodyBackgroundColor: "#262626",
  bodyForegroundColor: "#ffffff",
  controlBackgroundColor: "#333333",
  controlForegroundColor: "#ffffff",
};
/** A deployment that signs in with Microsoft Entra ID. */
const ENTRA = {
  auth: "entra",
  client_id: "3f2c5b1e-8d4a-4e7b-9c61-2a7f0e5d9b43",
  authority: "https://login.microsoftonline.com/organizations",
  scopes: ["api://journaliser.vejstrand.example/3f2c5b1e-8d4a-4e7b-9c61-2a7f0e5d9b43/access_as_user"],
};

/** Relative luminance of a computed `rgb(…)` colour. */
function luminance(rgb) {
  const [r, g, b] = rgb.match(/\d+(\.\d+)?/g).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

async function colours(page) {
  return page.evaluate(() => {
    // pane.css paints <html> with the theme's background and text colours.
    const style = getComputedStyle(document.documentElement);
    return { theme: document.documentElement.dataset.theme, background: style.backgroundColor, text: style.color };
  });
}

function mailHost() {
  const host = new FakeHost();
  host.addMail("mail-fresh", "Carport på Skovvej 12", freshMail());
  return host;
}

export async function darkTheme(harness) {
  const office = { host: "outlook", displayLanguage: "da-DK", sets: { Mailbox: "1.14" }, selected: "mail-fresh", officeTheme: DARK_OFFICE };
  const pane = await harness.open("outlook.html", { office, host: mailHost() });
  const cases = await pane.suggestedCases();
  assertEqual(cases[0], CARPORT_CASE, "the first suggestion in the dark pane");
  const dark = await colours(pane.page);
  assertEqual(dark.theme, "dark", "the theme Office's dark background chose");
  assert(luminance(dark.background) < 0.05, `a dark background: ${dark.background}`);
  assert(luminance(dark.text) > 0.7, `light text: ${dark.text}`);
  await pane.checkAccessible("da");
  await pane.screenshot("outlook-read-dark");

  // Office's light theme gives the light one, whatever the browser prefers.
  const light = await harness.open("outlook.html", {
    office: { ...office, officeTheme: { ...DARK_OFFICE, bodyBackgroundColor: "#ffffff", bodyForegroundColor: "#242424" } },
    host: mailHost(),
    colorScheme: "dark",
  });
  await light.suggestedCases();
  const seen = await colours(light.page);
  assertEqual(seen.theme, "light", "the theme Office's light background chose");
  assert(luminance(seen.background) > 0.9, `a light background: ${seen.background}`);

  // Outside Office, the browser's preference decides.
  const page = await harness.open("index.html", { colorScheme: "dark" });
  // The theme's tokens land a moment after the choice is made: both are waited for.
  await eventually(async () => {
    const seen = await colours(page.page);
    return seen.theme === "dark" && luminance(seen.background) < 0.05;
  }, "the drop zone page dark");
}

export async function signInFallback(harness) {
  // No NestedAppAuth, but IdentityAPI 1.3: Office's own single sign-on gives the token.
  const sso = {
    host: "outlook", displayLanguage: "da-DK", sets: { Mailbox: "1.14", IdentityAPI: "1.3", DialogApi: "1.2" },
    selected: "mail-fresh", ssoToken: harness.token,
  };
  const pane = await harness.open("outlook.html", { office: sso, host: mailHost(), token: "", config: ENTRA });
  assertEqual((await pane.suggestedCases())[0], CARPORT_CASE, "suggestions with the SSO token");
  const ssoCalls = await pane.page.evaluate(() => window.__fakeOffice.calls.map(([name]) => name));
  assert(ssoCalls.includes("getAccessToken"), `Office SSO was asked: ${ssoCalls}`);
  assert(!ssoCalls.includes("displayDialogAsync"), "no dialog where SSO works");
  assertEqual(await pane.page.evaluate(() => typeof window.msal), "undefined", "MSAL is not loaded without NAA");

  // Neither NAA nor SSO, only the dialog API: the user signs in in a dialog window.
  const dialog = {
    host: "outlook", displayLanguage: "da-DK", sets: { Mailbox: "1.14", DialogApi: "1.2" },
    selected: "mail-fresh", dialogToken: harness.token,
  };
  const second = await harness.open("outlook.html", { office: dialog, host: mailHost(), token: "", config: ENTRA });
  const button = second.page.locator("#signin fluent-button", { hasText: "Log ind med Microsoft" });
  await button.waitFor().catch(async (error) => {
    const shown = await second.page.evaluate(() => document.body.innerText);
    throw new Error(`no sign-in button; the pane shows: ${shown}`, { cause: error });
  });
  const before = await second.page.evaluate(() => window.__fakeOffice.calls.length);
  assertEqual(before, 0, "no dialog opens unbidden");
  await button.click();
  assertEqual((await second.suggestedCases())[0], CARPORT_CASE, "suggestions with the dialog's token");
  const opened = await second.page.evaluate(() => window.__fakeOffice.calls);
  assertEqual(opened[0][0], "displayDialogAsync", "the dialog API");
  assert(opened[0][1].endsWith("/addin/signin.html"), `the sign-in page: ${opened[0][1]}`);
  assert(opened.some(([name]) => name === "dialog.close"), "the dialog is closed");
}
