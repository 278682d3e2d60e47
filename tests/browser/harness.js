// What every scenario needs: a page of the add-in in a fresh 320 px browser context, with the
// fake Office in it, no request leaving the machine, console errors collected, and checks for
// accessible names, horizontal overflow and screenshots.

import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { installFakeOffice } from "./fake-office.js";

const OFFICE_JS = "https://appsforoffice.microsoft.com/";
export const WIDTH = 320;
const TIMEOUT = 20_000;

export class Harness {
  constructor(browser, { base, token, adminToken, screenshots }) {
    this.browser = browser;
    this.base = base.replace(/\/$/, "");
    this.token = token;
    /** An admin's token, for what a scenario must set up as an admin (a rule). */
    this.adminToken = adminToken;
    this.screenshots = screenshots;
    this.contexts = new Set();
    mkdirSync(screenshots, { recursive: true });
  }

  /** Closes whatever a failed scenario left open, so the next one starts alone. */
  async closeAll() {
    for (const context of this.contexts) await context.close().catch(() => {});
    this.contexts.clear();
  }

  /**
   * Opens `/addin/<file>` with the token in its address. `office` (optional) is the fake
   * Office's options; `host` answers its calls; `config` replaces `/addin/config.json`.
   */
  async open(file, { office, host, locale = "da-DK", token = this.token, width = WIDTH, height = 900, colorScheme = "light", config } = {}) {
    const context = await this.browser.newContext({ viewport: { width, height }, locale, colorScheme });
    this.contexts.add(context);
    const problems = [];
    const allowed = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(OFFICE_JS)) {
        // Production pages load Office.js from Microsoft's CDN; here it is an empty script and
        // the fake below stands in for it.
        return route.fulfill({ status: 200, contentType: "text/javascript", body: "" });
      }
      if (config && url.startsWith(`${this.base}/addin/config.json`)) {
        // The sign-in settings of a deployment with Microsoft Entra ID.
        return route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(config) });
      }
      if (url.startsWith(this.base) || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
      problems.push(`request off the machine: ${url}`);
      return route.abort();
    });
    if (host) await context.exposeFunction("__officeHost", (op, payload) => host.handle(op, payload));
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const text = message.text();
      if (!allowed.some((pattern) => pattern.test(text))) problems.push(`console error: ${text}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    if (office) await page.addInitScript(installFakeOffice, office);
    const fragment = token ? `#token=${encodeURIComponent(token)}` : "";
    await page.goto(`${this.base}/addin/${file}${fragment}`);
    return new PaneUnderTest(this, context, page, problems, allowed);
  }

  /** The API as the test user (or another `token`), for checking what the pane did. */
  async api(path, token = this.token) {
    const response = await fetch(`${this.base}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
    return response.json();
  }
}

export class PaneUnderTest {
  constructor(harness, context, page, problems, allowed) {
    this.harness = harness;
    this.context = context;
    this.page = page;
    this.problems = problems;
    this.allowed = allowed;
  }

  /** A console error the scenario provokes on purpose (the browser logs every 4xx). */
  allowConsoleError(pattern) {
    this.allowed.push(pattern);
  }

  /** Waits until `selector`'s text matches `pattern`, and returns the text. */
  async text(selector, pattern) {
    try {
      await this.page.waitForFunction(
        ([s, source, flags]) => new RegExp(source, flags).test(document.querySelector(s)?.textContent ?? ""),
        [selector, pattern.source, pattern.flags],
      );
    } catch (error) {
      const seen = await this.page.evaluate((s) => document.querySelector(s)?.textContent ?? "(missing)", selector);
      const status = await this.page.evaluate(() => `${document.getElementById("status")?.textContent} | ${document.getElementById("alert")?.textContent}`);
      throw new Error(`${selector} never matched ${pattern}: it says ${JSON.stringify(seen)}; status/alert: ${status}`);
    }
    return this.page.evaluate((s) => document.querySelector(s).textContent, selector);
  }

  /** Case ids of the suggestions, best first, once there are some. */
  async suggestedCases() {
    await this.page.waitForSelector('[data-group="suggestions"] .case-option');
    return this.page.$$eval('[data-group="suggestions"] .case-option', (options) => options.map((o) => o.dataset.caseId));
  }

  /** Presses Tab until `selector` has focus (at most 40 times), proving it is reachable by keyboard. */
  async tabTo(selector) {
    for (let i = 0; i < 40; i += 1) {
      await this.page.keyboard.press("Tab");
      const there = await this.page.evaluate((s) => {
        let active = document.activeElement;
        while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
        const target = document.querySelector(s);
        return Boolean(target && (document.activeElement === target || target.contains(document.activeElement)));
      }, selector);
      if (there) return;
    }
    throw new Error(`${selector} cannot be reached with the Tab key`);
  }

  /**
   * Every control (button, text box, radio, group, …) has an accessible name, read from
   * Chromium's accessibility tree; the page has its language set; nothing overflows the
   * viewport's width (320 px for a pane).
   */
  async checkAccessible(expectedLanguage) {
    const lang = await this.page.evaluate(() => document.documentElement.lang);
    if (lang !== expectedLanguage) throw new Error(`<html lang> is ${JSON.stringify(lang)}, not ${expectedLanguage}`);
    const cdp = await this.context.newCDPSession(this.page);
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const controls = ["button", "textbox", "searchbox", "radio", "radiogroup", "checkbox", "combobox", "link", "listbox", "switch"];
    const nameless = nodes
      .filter((n) => !n.ignored && controls.includes(n.role?.value))
      .filter((n) => !String(n.name?.value ?? "").trim())
      .map((n) => n.role.value);
    await cdp.detach();
    if (nameless.length) throw new Error(`controls without an accessible name: ${nameless.join(", ")}`);
    const [width, viewport] = await this.page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    if (width > viewport) throw new Error(`the page is ${width} px wide at ${viewport} px: it scrolls sideways`);
  }

  async screenshot(name) {
    await this.page.screenshot({ path: join(this.harness.screenshots, `${name}.png`), fullPage: true });
  }

  /** Fails on any console error, page error or request off the machine, then closes. */
  async close() {
    await this.context.close();
    this.harness.contexts.delete(this.context);
    if (this.problems.length) throw new Error(this.problems.join("\n"));
  }
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

export function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** Polls `probe` until it returns something truthy (at most 20 s). */
export async function eventually(probe, what) {
  const deadline = Date.now() + TIMEOUT;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`never happened: ${what} (last seen: ${JSON.stringify(last)})`);
}
