// The admin console's shell: sign-in as on the panes, a check that the token is an admin's
// (a user's gets the API's 403 and sees only that), the sections as links, and the section
// the address names drawn below them.

import { api, ApiError, boot, clearError, h, say, showError, t, withSignIn } from "./app.js";
import { addStrings } from "./i18n.js";
import { ADMIN_STRINGS } from "./admin-words.js";
import { audit } from "./admin-audit.js";
import { backtest } from "./admin-backtest.js";
import { casesPage } from "./admin-cases.js";
import { overview } from "./admin-overview.js";
import { quality } from "./admin-quality.js";
import { rankerPage } from "./admin-ranker.js";
import { rulesPage } from "./admin-rules.js";

addStrings(ADMIN_STRINGS);

const SECTIONS = { overview, cases: casesPage, quality, backtest, ranker: rankerPage, rules: rulesPage, audit };

const nav = document.getElementById("sections");
const target = document.getElementById("section");
const heading = document.getElementById("heading");

function sectionOf(path) {
  const name = path.replace(/^\/admin\/?/, "").split("/")[0];
  return name in SECTIONS ? name : "overview";
}

async function show(name) {
  clearError();
  for (const link of nav.querySelectorAll("a[data-section]")) {
    if (link.dataset.section === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const label = nav.querySelector(`a[data-section="${name}"]`).textContent;
  heading.textContent = label;
  document.title = `${label} – ${t("adminTitle")}`;
  say(t("adminLoading"));
  try {
    target.replaceChildren(...(await SECTIONS[name]()));
    target.dataset.section = name;
    say("");
  } catch (error) {
    target.replaceChildren();
    if (error instanceof ApiError && error.status === 403) {
      refuse();
      return;
    }
    showError(error, () => show(name));
  }
}

/** A token without the admin role: nothing but the API's own refusal in words. */
function refuse() {
  nav.hidden = true;
  target.replaceChildren(h("p", { class: "refused", text: t("adminOnly") }));
  heading.textContent = t("adminTitle");
  say("");
}

// Sections change without a page load, so the token and the page's state stay.
nav.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-section]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  history.pushState(null, "", link.getAttribute("href"));
  show(link.dataset.section).then(() => document.getElementById("content").focus());
});
// Links within a section (a filing's history) stay in the page as well.
target.addEventListener("click", (event) => {
  const link = event.target.closest("a[href^='/admin/']");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  history.pushState(null, "", link.getAttribute("href"));
  show(sectionOf(location.pathname)).then(() => document.getElementById("content").focus());
});
window.addEventListener("popstate", () => show(sectionOf(location.pathname)));

await boot(navigator.language);
nav.setAttribute("aria-label", t("adminNav"));
await withSignIn(() => api.get("/api/v1/admin/overview")).then(
  () => {
    nav.hidden = false;
    return show(sectionOf(location.pathname));
  },
  (error) => (error instanceof ApiError && error.status === 403 ? refuse() : showError(error)),
);
