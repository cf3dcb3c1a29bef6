// Loaded as a classic script in <head> (dist/theme.js, built by buildApp), so the
// stored theme is on <html> before the first paint: no flash of the other theme.
import { applyTheme } from "./theme.ts";

applyTheme();
