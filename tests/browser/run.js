// Drives the add-in panes in headless Chromium against a running Journaliser server.
//
//   JOURNALISER_URL=http://127.0.0.1:8080 JOURNALISER_TOKEN=… JOURNALISER_ADMIN_TOKEN=… node run.js [scenario…]
//   … node run.js admin      (the admin console's scenarios instead of the panes')
//
// The server must have the demo organisation and a running delivery worker; the token is a
// user's who may see the demo cases. SCREENSHOT_DIR (default ./screenshots) receives a 320 px
// screenshot of each pane; CHROMIUM names the browser (default /usr/bin/chromium).

import { chromium } from "playwright-core";

import { ADMIN_SCENARIOS } from "./admin.js";
import { darkTheme, signInFallback } from "./appearance.js";
import { dropzone } from "./dropzone.js";
import { Harness } from "./harness.js";
import { newCase, newCaseWord } from "./newcase.js";
import { outlookCompose } from "./outlook-compose.js";
import { outlookRead } from "./outlook-read.js";
import { review } from "./review.js";
import { word } from "./word.js";

const PANE_SCENARIOS = { outlookRead, word, dropzone, outlookCompose, review, darkTheme, signInFallback, newCase, newCaseWord };
const adminSuite = process.argv[2] === "admin";
const SCENARIOS = adminSuite ? ADMIN_SCENARIOS : PANE_SCENARIOS;

const base = process.env.JOURNALISER_URL;
const token = process.env.JOURNALISER_TOKEN;
const adminToken = process.env.JOURNALISER_ADMIN_TOKEN;
if (!base || !token) {
  console.error("set JOURNALISER_URL and JOURNALISER_TOKEN");
  process.exit(2);
}
const chosen = process.argv.slice(adminSuite ? 3 : 2);
const unknown = chosen.filter((name) => !(name in SCENARIOS));
if (unknown.length) {
  console.error(`unknown scenario ${unknown.join(", ")}; known: ${Object.keys(SCENARIOS).join(", ")}`);
  process.exit(2);
}

// Playwright gives each launch a fresh, temporary profile of its own (it refuses --user-data-dir).
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const harness = new Harness(browser, { base, token, adminToken, screenshots: process.env.SCREENSHOT_DIR || "screenshots" });

let passed = 0;
let failed = 0;
for (const [name, scenario] of Object.entries(SCENARIOS)) {
  if (chosen.length && !chosen.includes(name)) continue;
  try {
    await scenario(harness);
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n${String(error.stack ?? error).replace(/^/gm, "    ")}`);
  } finally {
    await harness.closeAll();
  }
}
await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
