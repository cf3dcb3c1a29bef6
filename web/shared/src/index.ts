// @warren/shared: what the Warren apps' front ends share. The design system's
// stylesheet is "@warren/shared/design.css" (import it from the app's main.ts:
// esbuild writes it to dist/app.css); the theme boot script is built by buildApp
// into dist/theme.js.
export { escapeHTML, el, $, type ElProps } from "./html.ts";
export { partyURL, partyPath, type PartyURLOptions } from "./url.ts";
export { plural } from "./format.ts";
export { type Theme, THEME_KEY, applyTheme, currentTheme, onThemeChange, setTheme, storedTheme, systemTheme, themeToggle } from "./theme.ts";
export { ConnectionStatus, type ConnectionState } from "./ui/status.ts";
export { toast, type ToastOptions } from "./ui/toast.ts";
export { confirmDialog, promptDialog, type ConfirmOptions, type PromptOptions } from "./ui/dialog.ts";
export { PALETTE, avatar, colorFor, distinctColors, hash, initials, presenceChips, type Person } from "./ui/presence.ts";
export { initHeader } from "./ui/header.ts";
