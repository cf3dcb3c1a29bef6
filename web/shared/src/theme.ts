// Light and dark themes. The stylesheet follows prefers-color-scheme by itself
// (its colours are light-dark() pairs under `color-scheme: light dark`); a stored
// choice overrides it by setting data-theme on <html>, which pins color-scheme.
// theme-boot.ts applies the stored choice before the first paint. A page with one
// theme only (the globe) sets data-theme itself and loads neither.

export type Theme = "light" | "dark";

/** The localStorage key holding an explicit choice; absent means "follow the system". */
export const THEME_KEY = "warren-theme";

const media = (): MediaQueryList | null => globalThis.matchMedia?.("(prefers-color-scheme: dark)") ?? null;

/** systemTheme is what the operating system (or the browser's emulation) prefers. */
export function systemTheme(): Theme {
  return media()?.matches ? "dark" : "light";
}

/** storedTheme is the explicit choice kept in this browser, or null to follow the system. */
export function storedTheme(): Theme | null {
  try {
    const v = localStorage.getItem(THEME_KEY);
    return v === "light" || v === "dark" ? v : null;
  } catch {
    return null; // storage disabled
  }
}

/** currentTheme is the theme the page shows: the one set on <html>, else the system's. */
export function currentTheme(): Theme {
  const t = document.documentElement.dataset["theme"];
  return t === "light" || t === "dark" ? t : systemTheme();
}

/** applyTheme sets data-theme on <html> from the stored choice (removing it to follow the system). */
export function applyTheme(): void {
  const root = document.documentElement;
  const t = storedTheme();
  if (t) root.dataset["theme"] = t;
  else delete root.dataset["theme"];
}

/**
 * setTheme shows t from now on. Choosing what the system prefers clears the
 * stored choice, so the page follows the system again.
 */
export function setTheme(t: Theme): void {
  try {
    if (t === systemTheme()) localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, t);
  } catch {
    /* storage disabled: this page only */
    document.documentElement.dataset["theme"] = t;
    notify();
    return;
  }
  applyTheme();
  notify();
}

const listeners = new Set<(t: Theme) => void>();
function notify(): void {
  const t = currentTheme();
  for (const f of listeners) f(t);
}

/**
 * onThemeChange calls f with the shown theme whenever it changes: a toggle, the
 * system's preference, or another tab's choice. It returns a function that stops it.
 */
export function onThemeChange(f: (t: Theme) => void): () => void {
  listeners.add(f);
  if (listeners.size === 1) {
    media()?.addEventListener("change", notify);
    globalThis.addEventListener?.("storage", onStorage);
  }
  return () => {
    listeners.delete(f);
    if (listeners.size === 0) {
      media()?.removeEventListener("change", notify);
      globalThis.removeEventListener?.("storage", onStorage);
    }
  };
}

function onStorage(e: StorageEvent): void {
  if (e.key === THEME_KEY || e.key === null) {
    applyTheme();
    notify();
  }
}

const sun = `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><circle cx="12" cy="12" r="4.5" fill="currentColor"/><g stroke="currentColor" stroke-width="2" stroke-linecap="round"><path d="M12 1.5v2.5M12 20v2.5M1.5 12H4M20 12h2.5M4.6 4.6l1.8 1.8M17.6 17.6l1.8 1.8M4.6 19.4l1.8-1.8M17.6 6.4l1.8-1.8"/></g></svg>`;
const moon = `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M20.5 14.6A8.5 8.5 0 0 1 9.4 3.5a8.5 8.5 0 1 0 11.1 11.1z"/></svg>`;

/**
 * themeToggle returns a button that switches between the light and the dark
 * theme; its label says what pressing it does. It keeps itself current when the
 * theme changes elsewhere.
 */
export function themeToggle(): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "w-btn w-btn-icon w-theme-toggle";
  b.id = "theme-toggle";
  const render = (t: Theme) => {
    const next = t === "dark" ? "light" : "dark";
    b.innerHTML = t === "dark" ? sun : moon; // constant markup, no user data
    b.setAttribute("aria-label", `Switch to the ${next} theme`);
    b.title = `Switch to the ${next} theme`;
    b.dataset["theme"] = t;
  };
  b.addEventListener("click", () => setTheme(currentTheme() === "dark" ? "light" : "dark"));
  onThemeChange(render);
  render(currentTheme());
  return b;
}
