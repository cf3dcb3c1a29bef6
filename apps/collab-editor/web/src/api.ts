// The collab-editor's HTTP API (see the app's README): the document list in the
// index object, and each document's versions.
import { partyPath } from "@warren/shared";

/** A document as its editors see it: its name is the edit capability. */
export interface DocInfo { name: string; title: string; created: string; viewToken: string }
/** A document of the public list: a title and a read-only token, never the name. */
export interface ListedDoc { title: string; created: string; viewToken: string }
/** A named snapshot of a document. */
export interface Version { id: number; name: string; created: string }

/** HTTPError is a response that was not 2xx: status and the server's message (its JSON "error", or its text). */
export class HTTPError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(path, init);
  if (!r.ok) {
    const text = (await r.text()).trim();
    let message = text;
    try {
      const body: unknown = JSON.parse(text);
      if (body && typeof body === "object" && typeof (body as { error?: unknown }).error === "string") message = (body as { error: string }).error;
    } catch {
      // not JSON: the text itself
    }
    throw new HTTPError(r.status, message || r.statusText);
  }
  return r.json() as Promise<T>;
}

/** send makes a state-changing JSON request (the server accepts no other content type). */
function send<T>(path: string, method: "POST" | "PATCH", body: unknown): Promise<T> {
  return call<T>(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

export const listDocs = () => call<ListedDoc[]>("/api/docs");
/** getDoc resolves the document named name; it rejects with HTTPError 404 when there is none. */
export const getDoc = (name: string) => call<DocInfo>("/api/docs/" + encodeURIComponent(name));
/** createDoc creates a document, named name when given (else a random, unguessable name). */
export const createDoc = (title: string, name?: string) => send<DocInfo>("/api/docs", "POST", name ? { title, name } : { title });
export const renameDoc = (name: string, title: string) => send<DocInfo>("/api/docs/" + encodeURIComponent(name), "PATCH", { title });
/** viewInfo is the title behind a read-only token; it rejects with HTTPError 404 for a token that opens nothing. */
export const viewInfo = (token: string) => call<{ title: string }>(partyPath("view", token, "info"));
export const listVersions = (name: string) => call<Version[]>(partyPath("document", name, "versions"));
export const saveVersion = (name: string, label: string) => send<Version>(partyPath("document", name, "versions"), "POST", { name: label });

/** versionBytes fetches a version's state: varuint n, then n varbytes updates. */
export async function versionBytes(name: string, id: number): Promise<Uint8Array> {
  const r = await fetch(partyPath("document", name, `versions/${id}`));
  if (!r.ok) throw new HTTPError(r.status, r.statusText);
  return new Uint8Array(await r.arrayBuffer());
}

/** The edit links this browser knows (created or opened here), by view token. */
export const editLinks = {
  key: "warren-editor-docs",
  all(): Record<string, string> {
    try {
      return JSON.parse(localStorage.getItem(this.key) ?? "{}") as Record<string, string>;
    } catch {
      return {};
    }
  },
  remember(d: DocInfo): void {
    localStorage.setItem(this.key, JSON.stringify({ ...this.all(), [d.viewToken]: d.name }));
  },
};
