// The header every app shares: brand (app icon and name) on the left, the app's
// own controls, then the connection status and the theme toggle on the right.
// The markup is static in each app's index.html so it paints at once:
//
//	<header class="w-header">
//	  <a class="w-brand" href="/"><img src="/favicon.svg" alt=""><span>Warren <b>chat</b></span></a>
//	  …the app's controls…
//	  <div class="w-header-actions">…<span id="status"></span></div>
//	</header>
import { themeToggle } from "../theme.ts";

/** initHeader adds the theme toggle at the end of the header's .w-header-actions (or of the header). */
export function initHeader(header: HTMLElement = document.querySelector<HTMLElement>(".w-header")!): HTMLButtonElement {
  const toggle = themeToggle();
  (header.querySelector(".w-header-actions") ?? header).append(toggle);
  return toggle;
}
