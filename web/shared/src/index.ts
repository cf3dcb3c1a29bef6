// Helpers shared by the Warren apps' front ends.

const htmlEscapes: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * escapeHTML returns text with &, <, >, " and ' replaced by entities, so the
 * result is inert inside element content and quoted attribute values.
 * Prefer textContent where possible; use this when building markup as a string.
 */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => htmlEscapes[c] ?? c);
}

/** Options of {@link partyURL}. */
export interface PartyURLOptions {
  /** Page URL the server's origin is taken from. Default: location.href. */
  base?: string | URL;
  /** Connection id sent as the _pk query parameter, as partysocket does. */
  pk?: string;
  /** Extra query parameters. */
  query?: Record<string, string>;
}

/**
 * partyURL returns the WebSocket URL of object name in namespace on the
 * Warren server that served base: ws(s)://host/parties/<namespace>/<name>,
 * with both path segments percent-encoded, wss when base is https.
 */
export function partyURL(namespace: string, name: string, opts: PartyURLOptions = {}): string {
  const base = new URL(opts.base ?? globalThis.location.href);
  const url = new URL(`/parties/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`, base);
  url.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  const query = { ...opts.query };
  if (opts.pk !== undefined) query["_pk"] = opts.pk;
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.toString();
}
