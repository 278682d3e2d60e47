// Which Fluent theme the pane wears: Office's own when the host tells it
// (`Office.context.officeTheme`, whose body background is dark in Office's dark and black
// themes), else the browser's `prefers-color-scheme`.

/** Relative luminance of `#rrggbb` (WCAG), or null for anything else. */
export function luminance(hex) {
  const match = /^#?([0-9a-f]{6})$/i.exec(String(hex ?? "").trim());
  if (!match) return null;
  const channel = (at) => {
    const value = parseInt(match[1].slice(at, at + 2), 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
}

/** "dark" or "light". */
export function chosenTheme() {
  const background = luminance(globalThis.Office?.context?.officeTheme?.bodyBackgroundColor);
  if (background !== null) return background < 0.2 ? "dark" : "light";
  return globalThis.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

async function apply(theme) {
  const root = document.documentElement;
  root.dataset.theme = theme;
  // Scroll bars, form controls and the fallback colours follow too.
  root.style.colorScheme = theme;
  const response = await fetch(new URL(`vendor/fluent-theme-${theme}.json`, document.baseURI));
  window.Fluent.setTheme(await response.json());
}

/** Sets the theme now, and again when the browser's preference changes (outside Office). */
export async function followTheme() {
  const query = globalThis.matchMedia?.("(prefers-color-scheme: dark)");
  if (query && !globalThis.Office?.context?.officeTheme) {
    query.addEventListener("change", () => apply(chosenTheme()).catch(() => {}));
  }
  await apply(chosenTheme());
}
