// The admin console at /admin/: a user's token sees only a refusal; an admin reads the
// overview, retries a failed filing by keyboard, and reads the quality page, whose numbers
// are the API's. Each page is checked at 1280 px and at 768 px.

import { assert, assertEqual, eventually } from "./harness.js";

const WIDE = 1280;
const NARROW = 768;

async function openConsole(harness, section, token = harness.adminToken) {
  const page = await harness.open(`../admin/${section}`, { token, width: WIDE, height: 900 });
  return page;
}

/** The page's accessibility checks at both widths, and a screenshot at each. */
async function checkBothWidths(pane, name) {
  await pane.checkAccessible("da");
  await pane.screenshot(`admin-${name}`);
  await pane.page.setViewportSize({ width: NARROW, height: 900 });
  await pane.checkAccessible("da");
  await pane.screenshot(`admin-${name}-768`);
  await pane.page.setViewportSize({ width: WIDE, height: 900 });
}

async function adminRefusesUsers(harness) {
  const user = await harness.open("../admin/quality", { width: WIDE });
  user.allowConsoleError(/403/);
  await user.text(".refused", /Kun for administratorer/);
  assert(await user.page.locator("#sections").isHidden(), "the sections are hidden from a user");
  assertEqual(await user.page.locator("table").count(), 0, "no figures for a user");
  await checkBothWidths(user, "refused");
  await user.close();
}

async function adminOverview(harness) {
  const api = await harness.api("/api/v1/admin/overview", harness.adminToken);
  const failed = api.failed[0];
  assert(failed, `a failed filing to retry: ${JSON.stringify(api)}`);
  const pane = await openConsole(harness, "");
  const page = pane.page;
  const archive = page.locator('tr[data-connector="archive"]');
  await archive.waitFor();
  const archiveFigures = api.connectors.find((c) => c.connector === "archive");
  assertEqual(await archive.locator('[data-column="week-failed"]').textContent(), String(archiveFigures.week.failed), "failed in 7 days");
  assertEqual(await archive.locator('[data-column="week-filed"]').textContent(), String(archiveFigures.week.filed), "filed in 7 days");
  await pane.text('tr[data-connector="archive"] [data-column="last-error"]', /archive/);
  const row = page.locator(`tr[data-filing-id="${failed.id}"]`);
  await row.waitFor();
  await checkBothWidths(pane, "overview");

  // "Prøv igen" by keyboard: Tab to it, Enter.
  await pane.tabTo(`tr[data-filing-id="${failed.id}"] fluent-button`);
  await page.keyboard.press("Enter");
  await eventually(() => row.evaluate((r) => r.dataset.retried === "true"), "the row says it was retried");
  await pane.text("#status", /sat i kø igen/);
  const filing = await eventually(async () => {
    const f = await harness.api(`/api/v1/filings/${failed.id}`, harness.adminToken);
    return f.state === "filed" && f;
  }, "the retried filing is delivered");
  assertEqual(filing.state, "filed", "the retried filing");

  // The sections by keyboard: Tab to "Kvalitet", Enter.
  await pane.tabTo('nav a[data-section="quality"]');
  await page.keyboard.press("Enter");
  await page.locator("#overall").waitFor();
  assertEqual(new URL(page.url()).pathname, "/admin/quality", "the address follows the section");
  await pane.close();
}

async function adminQuality(harness) {
  const pane = await openConsole(harness, "quality");
  const page = pane.page;
  await page.locator("#overall").waitFor();
  const stats = await harness.api("/api/v1/admin/stats", harness.adminToken);
  assert(stats.overall.shown >= 3, `replayed filings were shown suggestions: ${JSON.stringify(stats.overall)}`);
  const shown = async (figure) => (await page.locator(`#overall [data-figure="${figure}"] .value`).textContent()).replace(/\s/g, " ");
  const percent = (x) => new Intl.NumberFormat("da-DK", { style: "percent", maximumFractionDigits: 1 }).format(x).replace(/\s/g, " ");
  for (const figure of ["filings", "shown", "auto_filed", "undone"]) {
    assertEqual(await shown(figure), new Intl.NumberFormat("da-DK").format(stats.overall[figure]), figure);
  }
  for (const figure of ["top1", "top3", "not_in_list"]) {
    assertEqual(await shown(figure), percent(stats.overall[figure]), figure);
  }
  for (const week of stats.weeks) {
    const cell = page.locator(`tr[data-week="${week.week}"] [data-column="top1"]`);
    assertEqual((await cell.textContent()).replace(/\s/g, " "), percent(week.top1), `top-1 in the week of ${week.week}`);
  }
  const archive = stats.connectors.find((c) => c.name === "archive");
  const cell = page.locator('tr[data-connector="archive"] [data-column="top3"]');
  assertEqual((await cell.textContent()).replace(/\s/g, " "), percent(archive.top3), "top-3 of the archive");
  const plot = page.locator("#reliability-plot");
  await plot.waitFor();
  assert((await plot.getAttribute("alt")).includes("journaliseringer"), "the plot's text alternative");
  assert(await plot.evaluate((img) => img.complete && img.naturalWidth > 0), "the plot is drawn");
  await checkBothWidths(pane, "quality");
  await pane.close();
}

export const ADMIN_SCENARIOS = { adminRefusesUsers, adminOverview, adminQuality };
