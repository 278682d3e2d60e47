// The review queue's page: an item a rule sent to review is found in the queue with why, and
// filed by keyboard alone on a case found by search.

import { assert, assertEqual, eventually } from "./harness.js";

const CARPORT_CASE = "VK-2026-0007";
const SUBJECT = "Naboklage over carport på Skovvej 12";

async function call(harness, method, path, token, body, contentType = "application/json") {
  const response = await fetch(`${harness.base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": contentType },
    body,
  });
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

export async function review(harness) {
  // An admin's rule sends neighbours' complaints to the social unit's queue.
  await call(harness, "POST", "/api/v1/admin/rules", harness.adminToken, JSON.stringify({
    name: "Naboklager til gennemsyn",
    when: { subject_contains: "naboklage" },
    then: { action: "review", queue: "social" },
  }));
  const mail = [
    "From: Nabo <nabo@example.dk>", "To: byg@vejstrand.example", `Subject: ${SUBJECT}`,
    "Date: Wed, 25 Nov 2026 10:00:00 +0100", "Message-ID: <naboklage-review@example.dk>",
    "Content-Type: text/plain; charset=utf-8", "", "Carporten på Skovvej 12 er for høj.", "",
  ].join("\r\n");
  const item = await call(harness, "POST", "/api/v1/items", harness.token, mail, "message/rfc822");
  assertEqual(item.filings, [], "nothing filed by itself");

  // The page at /review/, as a caseworker of the unit opens it.
  const pane = await harness.open("../review/", { height: 900 });
  const page = pane.page;
  const card = page.locator(`.review-item[data-item-id="${item.id}"]`);
  await card.waitFor();
  assertEqual(await card.locator("h2").textContent(), SUBJECT, "the item's subject");
  await pane.text(`.review-item[data-item-id="${item.id}"] .why`, /En regel sender den slags til gennemsyn/);
  await pane.checkAccessible("da");
  await pane.screenshot("review");

  // By keyboard: search for the case, then Tab to its button and press Enter.
  const search = card.locator("input[type=search]");
  await search.focus();
  await page.keyboard.type("Skovvej 12");
  await page.keyboard.press("Enter");
  const button = card.locator(`.review-found fluent-button[data-case-id="${CARPORT_CASE}"]`);
  await button.waitFor();
  await eventually(async () => {
    await page.keyboard.press("Tab");
    return page.evaluate((id) => document.activeElement?.dataset?.caseId === id, CARPORT_CASE);
  }, "the carport case's button reached by Tab");
  await page.keyboard.press("Enter");
  await pane.text(`.review-item[data-item-id="${item.id}"] .existing`, /Journaliseret på sag 02\.34\.02-G01-12-26/);
  await pane.screenshot("review-filed");

  const filed = await harness.api(`/api/v1/items/${item.id}`);
  assertEqual(filed.filings.map((f) => f.case_id), [CARPORT_CASE], "the item's filing");
  const queue = await harness.api("/api/v1/review?queue=social");
  assert(!queue.items.some((i) => i.item_id === item.id), "the item has left the queue");
  await pane.close();
}
