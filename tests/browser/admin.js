// The admin console at /admin/: a user's token sees only a refusal; an admin reads the
// overview, retries a failed filing by keyboard, reads the quality page, whose numbers are
// the API's, backtests a threshold, switches it on and undoes it, backtests a ranker weight and
// the starting weights, switches each on and undoes it, and imports a file of cases once its wrong row is fixed. Each
// page is checked at 1280 px and at 768 px.

import { assert, assertEqual, eventually } from "./harness.js";

const WIDE = 1280;
const NARROW = 768;

/** A share as the Danish console writes it, with plain spaces. */
const percent = (x) => new Intl.NumberFormat("da-DK", { style: "percent", maximumFractionDigits: 1 }).format(x).replace(/\s/g, " ");

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

  // "Synkronisér nu": the answer per connector, as the API gives it.
  await page.locator("#sync-now").click();
  await pane.text("#status", /Sagerne er synkroniseret|Ingen systemer kan liste/);
  const audited = await harness.api("/api/v1/admin/audit?kind=cases_synced", harness.adminToken);
  assert(audited.events.length >= 1, "the sync is in the audit log");
  const listed = audited.events[0].details.connectors;
  assertEqual(await page.locator("#sync-result li").count(), listed.length, "a line per connector synced");

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

async function call(harness, method, path, body) {
  const response = await fetch(`${harness.base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${harness.adminToken}`, "Content-Type": "application/json" },
    body: body && JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

async function adminRules(harness) {
  const first = await call(harness, "POST", "/api/v1/admin/rules", {
    name: "Naboklager", order: 10, when: { subject_contains: "naboklage" }, then: { action: "review", queue: "byg" },
  });
  const second = await call(harness, "POST", "/api/v1/admin/rules", {
    name: "Tegnestuen", order: 20, when: { from: "tegnestuenkvist.example" }, then: { action: "review", queue: "byg" },
  });
  const pane = await openConsole(harness, "rules");
  const page = pane.page;
  pane.allowConsoleError(/422/);
  await page.locator(`tr[data-rule-id="${second.id}"]`).waitFor();
  await checkBothWidths(pane, "rules");

  // By keyboard: "Flyt op" on the second rule puts it first.
  await pane.tabTo(`tr[data-rule-id="${second.id}"] [data-action="up"]`);
  await page.keyboard.press("Enter");
  await pane.text("#status", /«Tegnestuen» er nu nummer 1/);
  const ordered = (await harness.api("/api/v1/admin/rules", harness.adminToken)).rules.sort((a, b) => a.order - b.order);
  assertEqual(ordered.map((r) => r.id), [second.id, first.id], "the order after moving up");

  // Off by keyboard.
  await pane.tabTo(`tr[data-rule-id="${first.id}"] [data-action="toggle"]`);
  await page.keyboard.press("Space");
  await pane.text("#status", /«Naboklager» er slået fra/);
  assertEqual((await harness.api(`/api/v1/admin/rules/${first.id}`, harness.adminToken)).enabled, false, "the rule is off");

  // Edit: file on a case that does not exist; the reason stands beside the case field.
  await page.locator(`tr[data-rule-id="${second.id}"] [data-action="edit"]`).click();
  await page.selectOption("#rule-then-action", "file");
  await page.fill("#rule-then-case_id", "VK-1999-0000");
  await page.locator("#rule-save").click();
  await pane.text('[data-field="then.case_id"] .field-error', /no case with id/);
  assert(await page.evaluate(() => document.activeElement?.id === "rule-then-case_id"), "the wrong field has focus");
  await pane.screenshot("admin-rules-error");
  assertEqual((await harness.api(`/api/v1/admin/rules/${second.id}`, harness.adminToken)).then.action, "review", "nothing stored");

  // Test it on the latest 500, then fix it and save.
  await page.fill("#rule-then-case_id", "VK-2026-0001");
  await page.locator("#rule-test").click();
  await pane.text("#rule-test-result", /Reglen passer på \d+ af de seneste \d+/);
  await page.locator("#rule-save").click();
  await pane.text("#status", /er gemt som version/);
  const saved = await harness.api(`/api/v1/admin/rules/${second.id}`, harness.adminToken);
  assertEqual([saved.then.action, saved.then.case_id], ["file", "VK-2026-0001"], "the saved rule");
  await pane.close();
}

async function adminBacktest(harness) {
  const pane = await openConsole(harness, "backtest");
  const page = pane.page;
  await page.locator("#backtest-form").waitFor();
  await page.fill("#backtest-threshold", "0.5");
  await pane.tabTo("#backtest-run");
  await page.keyboard.press("Enter");
  await page.locator('#backtest-result tr[data-figure="auto_filed"]').waitFor();
  const api = await call(harness, "POST", "/api/v1/admin/backtest", { change: { confidence_threshold: 0.5 }, limit: 2000 });
  assert(api.examined >= 3, `the replayed filings are backtested: ${JSON.stringify(api)}`);
  const cell = async (figure, side) => (await page.locator(`#backtest-result tr[data-figure="${figure}"] [data-column="${side}"]`).textContent()).replace(/\s/g, " ");
  assertEqual(await cell("auto_filed", "today"), String(api.today.auto_filed), "auto-filed today");
  assertEqual(await cell("auto_filed", "after"), String(api.after.auto_filed), "auto-filed after");
  assertEqual(await cell("wrong", "after"), String(api.after.wrong), "wrong after");
  assertEqual(await page.locator("#backtest-result tr[data-filing-id]").count(), Math.min(api.changed_count, 200), "the changed filings listed");
  await checkBothWidths(pane, "backtest");

  // "Slå til" by keyboard: the threshold tried holds for the organisation, listed as a version.
  await pane.tabTo("#backtest-apply");
  await page.keyboard.press("Enter");
  await pane.text("#status", /er slået til/);
  const [applied] = (await harness.api("/api/v1/admin/changes", harness.adminToken)).changes;
  assertEqual([applied.scope, applied.after.confidence_threshold, applied.after.configured], ["organisation", 0.5, false], "the change applied");
  const row = page.locator(`#changes tr[data-version="${applied.version}"]`);
  await row.waitFor();
  assert((await row.textContent()).includes("hele organisationen"), "the row says where the change applies");
  const retried = await call(harness, "POST", "/api/v1/admin/backtest", { change: { confidence_threshold: 0.5 }, limit: 2000 });
  assertEqual(retried.today.confidence_threshold, 0.5, "today's threshold is the one applied");
  await eventually(async () => (await cell("confidence_threshold", "today")) === percent(0.5), "today's column shows the change applied");
  assertEqual(await cell("auto_filed", "today"), String(retried.today.auto_filed), "auto-filed today, after the change");
  await checkBothWidths(pane, "backtest-applied");

  // "Fortryd ændring" by keyboard: the value from before comes back as a new version.
  await pane.tabTo(`#changes tr[data-version="${applied.version}"] [data-action="undo"]`);
  await page.keyboard.press("Enter");
  await pane.text("#status", new RegExp(`Version ${applied.version} er fortrudt`));
  const [undone] = (await harness.api("/api/v1/admin/changes", harness.adminToken)).changes;
  assertEqual([undone.undoes, undone.after], [applied.version, applied.before], "the undo restores the value before");
  await page.locator(`#changes tr[data-version="${undone.version}"]`).waitFor();
  await eventually(async () => (await cell("confidence_threshold", "today")) === "slået fra", "today's column is off again");
  assert(await page.evaluate((v) => document.activeElement?.closest("tr")?.dataset.version === String(v), undone.version),
    "the undo's own row has focus");
  await pane.screenshot("admin-backtest-undone");
  await pane.close();
}

async function adminRanker(harness) {
  const before = await harness.api("/api/v1/admin/ranker", harness.adminToken);
  const pane = await openConsole(harness, "ranker");
  const page = pane.page;
  await page.locator('#ranker-form tr[data-feature="thread"]').waitFor();
  assertEqual(await page.locator("#ranker-form tr[data-feature]").count(), before.features.length, "a row per feature");
  await pane.text('tr[data-feature="thread"]', /Samme tråd/);
  assert(await page.locator("#ranker-undo").evaluate((b) => b.disabled), "nothing to undo before a change");
  await checkBothWidths(pane, "ranker");

  // A new weight for the sender, typed and tried by keyboard.
  await pane.tabTo("#weight-sender");
  await page.keyboard.type("5");
  await pane.tabTo("#ranker-try");
  await page.keyboard.press("Enter");
  await page.locator('#ranker-result tr[data-figure="top1"]').waitFor();
  const api = await call(harness, "POST", "/api/v1/admin/backtest", { change: { ranker_weights: { sender: 5 } }, limit: 2000 });
  assert(api.examined >= 4, `the replayed filings are backtested: ${JSON.stringify(api)}`);
  const cell = async (figure, side) => (await page.locator(`#ranker-result tr[data-figure="${figure}"] [data-column="${side}"]`).textContent()).replace(/\s/g, " ");
  for (const figure of ["top1", "top3"]) {
    assertEqual(await cell(figure, "today"), percent(api.today[figure]), `${figure} today`);
    assertEqual(await cell(figure, "after"), percent(api.after[figure]), `${figure} after`);
  }
  assertEqual(await page.locator("#ranker-result tr[data-filing-id]").count(), Math.min(api.changed_count, 200), "the filings that move listed");
  await checkBothWidths(pane, "ranker-tried");

  // "Slå til" by keyboard: the weight holds, and the audit log has the change.
  await pane.tabTo("#ranker-apply");
  await page.keyboard.press("Enter");
  await pane.text("#status", /De nye vægte er slået til/);
  const applied = await harness.api("/api/v1/admin/ranker", harness.adminToken);
  assertEqual(applied.features.find((f) => f.name === "sender").weight, 5, "the sender's weight switched on");
  await pane.text('tr[data-feature="sender"] [data-column="weight"]', /^5$/);
  const audited = await harness.api("/api/v1/admin/audit?kind=ranker_changed", harness.adminToken);
  assertEqual(audited.events[0]?.details.after.weights.sender, 5, "the change is audited");
  assert(await page.evaluate(() => document.activeElement?.id === "ranker-undo"), "the undo has focus after switching on");
  await checkBothWidths(pane, "ranker-applied");

  // "Fortryd ændring" by keyboard: every weight exactly as before.
  await page.keyboard.press("Enter");
  await pane.text("#status", /Ændringen er fortrudt/);
  const undone = await harness.api("/api/v1/admin/ranker", harness.adminToken);
  assertEqual(undone.features.map((f) => f.weight), before.features.map((f) => f.weight), "the weights before the change");
  const undoAudited = await harness.api("/api/v1/admin/audit?kind=ranker_changed", harness.adminToken);
  assertEqual(undoAudited.events[0]?.details.undo, true, "the undo is audited");
  await pane.screenshot("admin-ranker-undone");

  // "Nulstil" tries the starting weights first; switched on, and undone again.
  await pane.tabTo("#ranker-reset");
  await page.keyboard.press("Enter");
  await page.locator('#ranker-result tr[data-figure="top1"]').waitFor();
  const starting = Object.fromEntries(before.features.map((f) => [f.name, f.starting_weight]));
  const reset = await call(harness, "POST", "/api/v1/admin/backtest", { change: { ranker_weights: starting }, limit: 2000 });
  assertEqual(await cell("top1", "after"), percent(reset.after.top1), "top-1 at the starting weights");
  await pane.tabTo("#ranker-apply");
  await page.keyboard.press("Enter");
  await pane.text("#status", /nulstillet til startvægtene/);
  const wasReset = await harness.api("/api/v1/admin/ranker", harness.adminToken);
  assertEqual(wasReset.features.map((f) => f.weight), before.features.map((f) => f.starting_weight), "the starting weights");
  await page.keyboard.press("Enter");
  await pane.text("#status", /Ændringen er fortrudt/);
  const back = await harness.api("/api/v1/admin/ranker", harness.adminToken);
  assertEqual(back.features.map((f) => f.weight), before.features.map((f) => f.weight), "the learnt weights back");
  await pane.close();
}

async function adminHistory(harness) {
  // The filing the overview retried: accepted, failed, queued again, delivered.
  const requeued = await harness.api("/api/v1/admin/audit?kind=filing_requeued", harness.adminToken);
  const filingId = requeued.events[0]?.filing_id;
  assert(filingId, `a requeued filing: ${JSON.stringify(requeued)}`);
  const events = (await harness.api(`/api/v1/admin/audit?filing_id=${filingId}&order=oldest`, harness.adminToken)).events;
  const pane = await openConsole(harness, "audit");
  const page = pane.page;
  await page.locator(`a[data-history="${filingId}"]`).first().waitFor();
  await checkBothWidths(pane, "audit");
  await page.locator("#audit-kind").selectOption("filing_requeued");
  await page.locator("#audit-show").click();
  await eventually(async () => (await page.locator("tr[data-event-id]").count()) === requeued.events.length, "the log filtered to requeued filings");
  await pane.tabTo(`a[data-history="${filingId}"]`);
  await page.keyboard.press("Enter");
  await page.locator("#history-facts").waitFor();
  assertEqual(new URL(page.url()).search, `?filing=${filingId}`, "the history's address");
  const kinds = await page.$$eval(".history-step", (steps) => steps.map((s) => s.dataset.kind));
  assertEqual(kinds, events.map((e) => e.kind), "the filing's events in order");
  for (const kind of ["filing_accepted", "filing_failed", "filing_requeued", "filing_delivered"]) {
    assert(kinds.includes(kind), `the history has ${kind}: ${kinds}`);
  }
  await pane.text("#history-facts", /Journaliseret/);
  await checkBothWidths(pane, "history");
  await pane.close();
}

const CASES_HEADER = "id,number,title,kle,facet,status,parties,groups,opened";
const CASE_ROW = "WEB-1,00.01.00-A00-1-26,Saunaflåde ved Nordstranden,00.01.00,A00,åben,email:bad@vinterbad.example,,2026-11-02";

/** A CSV file of cases for the file input, its second case's KLE number given as `kle`. */
function casesFile(kle) {
  const text = `${CASES_HEADER}\n${CASE_ROW}\nWEB-2,00.01.00-A00-2-26,Bådebro ved Nordstranden,${kle},,åben,,,\n`;
  return { name: "sager.csv", mimeType: "text/csv", buffer: Buffer.from(text) };
}

async function adminCases(harness) {
  const pane = await openConsole(harness, "cases");
  const page = pane.page;
  await page.locator('tr[data-connector="archive"]').waitFor();
  const connectors = (await harness.api("/api/v1/admin/connectors", harness.adminToken)).connectors;
  assertEqual(await page.locator("tr[data-connector]").count(), connectors.length, "a row per connector");
  assert(await page.locator("#import-run").evaluate((b) => b.disabled), "nothing to import before a file is chosen");

  // The file is chosen by keyboard: Tab to the file input, Space opens the chooser.
  await pane.tabTo("#import-file");
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Space")]);
  await chooser.setFiles(casesFile("99"));
  const bad = page.locator('tr[data-row="3"][data-outcome="error"]');
  await bad.waitFor();
  await pane.text('tr[data-row="3"]', /«99» er ikke et KLE-nummer/);
  assertEqual(await page.locator('tr[data-row="2"]').getAttribute("data-outcome"), "new", "the good row");
  await pane.text("#import-summary", /Rækker: 2 – nye: 1, ændrede: 0, uændrede: 0, med fejl: 1/);
  assert(await page.locator("#import-run").evaluate((b) => b.disabled), "no import while a row is wrong");
  await checkBothWidths(pane, "cases");
  const none = await fetch(`${harness.base}/api/v1/cases/WEB-1`, { headers: { Authorization: `Bearer ${harness.token}` } });
  assertEqual(none.status, 404, "the preview wrote nothing");

  // The row fixed in the file, which is chosen again: clean, so "Importér" opens.
  await page.locator("#import-file").setInputFiles(casesFile("02.34.02"));
  await eventually(() => page.locator('tr[data-outcome="error"]').count().then((n) => n === 0), "the fixed file has no error");
  await eventually(() => page.locator("#import-run").evaluate((b) => !b.disabled), "Importér opens");
  await pane.tabTo("#import-run");
  await page.keyboard.press("Enter");
  await pane.text("#status", /Importeret – nye: 2, ændrede: 0, uændrede: 0/);
  const found = await harness.api(`/api/v1/cases?q=${encodeURIComponent("Bådebro Nordstranden")}`);
  assertEqual(found.cases.map((c) => c.id), ["WEB-2"], "the imported case is found");
  assertEqual((await harness.api("/api/v1/cases/WEB-2")).kle, "02.34.02", "the fixed KLE number");
  const audited = await harness.api("/api/v1/admin/audit?kind=cases_imported", harness.adminToken);
  assertEqual(audited.events[0]?.details.counts.new, 2, "the import is audited with its counts");
  await pane.screenshot("admin-cases-imported");

  // "Synkronisér nu" is on this page too.
  await pane.tabTo("#sync-now");
  await page.keyboard.press("Enter");
  await pane.text("#status", /Sagerne er synkroniseret|Ingen systemer kan liste/);
  await pane.close();
}

export const ADMIN_SCENARIOS = { adminRefusesUsers, adminOverview, adminQuality, adminBacktest, adminRanker, adminRules, adminHistory, adminCases };
