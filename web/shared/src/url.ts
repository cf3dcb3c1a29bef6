// URLs of Warren objects.

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
  const url = new URL(partyPath(namespace, name), opts.base ?? globalThis.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const query = { ...opts.query };
  if (opts.pk !== undefined) query["_pk"] = opts.pk;
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.toString();
}

/**
 * partyPath returns the HTTP path of object name in namespace, with an optional
 * sub-path: /parties/<namespace>/<name>[/<sub>], both segments percent-encoded
 * (sub is appended as given).
 */
export function partyPath(namespace: string, name: string, sub = ""): string {
  return `/parties/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}${sub ? "/" + sub.replace(/^\/+/, "") : ""}`;
}
