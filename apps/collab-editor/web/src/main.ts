// The collab-editor front end: a document list (/), an editor (/d/<name>) and a
// read-only viewer (/view/<token>). Documents sync with Yjs over the y-websocket
// protocol to one Warren object per document.
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { EditorView, basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { markdown } from "@codemirror/lang-markdown";
import { yCollab } from "y-codemirror.next";
import { marked } from "marked";
import DOMPurify from "dompurify";

const app = document.getElementById("app")!;
const statusEl = document.getElementById("status")!;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
}

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(path, init);
  if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
  return r.json() as Promise<T>;
}

/** send makes a state-changing JSON request (the server accepts no other content type). */
function send<T>(path: string, method: "POST" | "PATCH", body: unknown): Promise<T> {
  return api<T>(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

/** A document as its editors see it: its name is the edit capability. */
interface DocInfo { name: string; title: string; created: string; viewToken: string }
/** A document of the public list: a title and a read-only token, never the name. */
interface ListedDoc { title: string; created: string; viewToken: string }

/** The edit links this browser knows (created or opened here), by view token. */
const editLinks = {
  key: "warren-editor-docs",
  all(): Record<string, string> {
    try { return JSON.parse(localStorage.getItem(this.key) ?? "{}") as Record<string, string>; } catch { return {}; }
  },
  remember(d: DocInfo) { localStorage.setItem(this.key, JSON.stringify({ ...this.all(), [d.viewToken]: d.name })); },
};
interface Version { id: number; name: string; created: string }

const colors = ["#d6336c", "#2f9e44", "#1c7ed6", "#f08c00", "#7048e8", "#0c8599", "#e03131", "#5c940d"];

/** The local user: ?user= overrides the stored name (handy for tests and demos). */
function localUser(): { name: string; color: string; colorLight: string } {
  const q = new URLSearchParams(location.search).get("user");
  let name = q ?? localStorage.getItem("warren-editor-name") ?? "";
  if (!name) {
    name = "guest-" + Math.floor(Math.random() * 1000);
    localStorage.setItem("warren-editor-name", name);
  }
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const color = colors[h % colors.length]!;
  return { name, color, colorLight: color + "33" };
}

function wsBase(ns: string): string {
  const u = new URL(`/parties/${ns}`, location.href);
  u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

// ---- document list ----

async function listPage() {
  document.title = "Documents · Warren";
  const title = el("input", { type: "text", placeholder: "New document title", id: "new-title" });
  const create = el("button", { className: "primary", id: "create-doc", textContent: "Create document" });
  const list = el("ul", { className: "doclist", id: "docs" });
  app.replaceChildren(el("h1", { textContent: "Documents" }), el("div", { className: "create" }, title, create), list);
  create.onclick = async () => {
    const d = await send<DocInfo>("/api/docs", "POST", { title: title.value });
    editLinks.remember(d);
    location.href = "/d/" + encodeURIComponent(d.name);
  };
  title.onkeydown = (e) => { if (e.key === "Enter") create.click(); };
  const docs = await api<ListedDoc[]>("/api/docs");
  const mine = editLinks.all();
  for (const d of docs) {
    // Documents this browser can edit open in the editor; the others read-only.
    const name = mine[d.viewToken];
    const href = name ? "/d/" + encodeURIComponent(name) : "/view/" + encodeURIComponent(d.viewToken);
    const link = el("a", { href, textContent: d.title });
    const item = el("li", {}, link, el("time", { textContent: new Date(d.created).toLocaleString() }));
    if (name) {
      const rename = el("button", { textContent: "Rename", className: "rename" });
      rename.onclick = async () => {
        const t = prompt("New title", d.title);
        if (t === null) return;
        const nd = await send<DocInfo>("/api/docs/" + encodeURIComponent(name), "PATCH", { title: t });
        link.textContent = nd.title;
        d.title = nd.title;
      };
      item.append(rename);
    } else {
      item.append(el("span", { className: "readonly-badge", textContent: "read-only" }));
    }
    list.append(item);
  }
  if (docs.length === 0) list.append(el("li", { textContent: "No documents yet: create one." }));
}

// ---- editor ----

function setStatus(provider: WebsocketProvider) {
  const show = () => {
    const s = provider.wsconnected ? (provider.synced ? "connected" : "syncing…") : "offline: edits are kept and merge on reconnect";
    statusEl.textContent = s;
    statusEl.className = "status " + (provider.wsconnected ? "online" : "offline");
    statusEl.dataset.state = provider.wsconnected && provider.synced ? "synced" : provider.wsconnected ? "syncing" : "offline";
  };
  provider.on("status", show);
  provider.on("sync", show);
  show();
}

/** The preview's sanitiser: DOMPurify's defaults, without <style> and style attributes, so a
 * document cannot restyle the page for everyone who opens it. */
const previewPolicy = { FORBID_TAGS: ["style"], FORBID_ATTR: ["style"] };

function renderPreview(target: HTMLElement, text: string) {
  const html = marked.parse(text, { async: false }) as string;
  target.innerHTML = DOMPurify.sanitize(html, previewPolicy);
}

function usersBar(provider: WebsocketProvider): HTMLElement {
  const bar = el("div", { className: "users", id: "users" });
  const draw = () => {
    bar.replaceChildren();
    for (const [, st] of provider.awareness.getStates()) {
      const u = (st as { user?: { name?: string; color?: string } }).user;
      if (!u?.name) continue;
      const s = el("span", { textContent: u.name });
      s.style.background = u.color ?? "#888";
      bar.append(s);
    }
  };
  provider.awareness.on("change", draw);
  draw();
  return bar;
}

/** replaceText turns ytext into next with one minimal edit (common prefix and suffix kept). */
function replaceText(ytext: Y.Text, next: string) {
  const cur = ytext.toString();
  let p = 0;
  while (p < cur.length && p < next.length && cur[p] === next[p]) p++;
  let s = 0;
  while (s < cur.length - p && s < next.length - p && cur[cur.length - 1 - s] === next[next.length - 1 - s]) s++;
  ytext.doc!.transact(() => {
    ytext.delete(p, cur.length - p - s);
    ytext.insert(p, next.slice(p, next.length - s));
  });
}

/** versionText decodes a version (varuint n, n varbytes updates) into its text. */
async function versionText(docName: string, id: number): Promise<string> {
  const r = await fetch(`/parties/document/${encodeURIComponent(docName)}/versions/${id}`);
  const b = new Uint8Array(await r.arrayBuffer());
  let i = 0;
  const uint = () => { let x = 0, m = 1, c; do { c = b[i++]!; x += (c & 0x7f) * m; m *= 128; } while (c >= 0x80); return x; };
  const doc = new Y.Doc();
  for (let n = uint(); n > 0; n--) {
    const len = uint();
    Y.applyUpdate(doc, b.subarray(i, i + len));
    i += len;
  }
  return doc.getText("content").toString();
}

function historyPanel(docName: string, ytext: Y.Text): HTMLElement {
  const name = el("input", { type: "text", placeholder: "Version name", id: "version-name" });
  const save = el("button", { textContent: "Save version", id: "save-version" });
  const list = el("ul", { id: "versions" });
  const dialog = el("dialog", { id: "version-dialog" });
  const refresh = async () => {
    const vs = await api<Version[]>(`/parties/document/${encodeURIComponent(docName)}/versions`);
    list.replaceChildren(...vs.map((v) => {
      const preview = el("button", { textContent: "Preview", className: "preview-version" });
      const restore = el("button", { textContent: "Restore", className: "restore-version" });
      preview.onclick = async () => {
        const text = await versionText(docName, v.id);
        const close = el("button", { textContent: "Close" });
        close.onclick = () => dialog.close();
        dialog.replaceChildren(el("h3", { textContent: v.name }), el("pre", { textContent: text, className: "version-text" }), close);
        dialog.showModal();
      };
      restore.onclick = async () => {
        if (!confirm(`Restore “${v.name}”? This is a new edit; history is kept.`)) return;
        replaceText(ytext, await versionText(docName, v.id));
      };
      return el("li", {}, el("span", { className: "vname", textContent: v.name }), el("time", { textContent: new Date(v.created).toLocaleTimeString() }), preview, restore);
    }));
  };
  save.onclick = async () => {
    await send<Version>(`/parties/document/${encodeURIComponent(docName)}/versions`, "POST", { name: name.value || new Date().toLocaleString() });
    name.value = "";
    await refresh();
  };
  refresh();
  return el("aside", { className: "history" }, el("h2", { textContent: "Version history" }), name, save, list, dialog);
}

function editorPage(opts: { ns: string; room: string; readOnly: boolean; docName?: string; title: string; viewToken?: string }) {
  const ydoc = new Y.Doc();
  const ytext = ydoc.getText("content");
  const provider = new WebsocketProvider(wsBase(opts.ns), opts.room, ydoc);
  const user = localUser();
  provider.awareness.setLocalStateField("user", user);
  setStatus(provider);
  const undoManager = new Y.UndoManager(ytext);
  const extensions = [basicSetup, markdown(), EditorView.lineWrapping, yCollab(ytext, provider.awareness, { undoManager })];
  if (opts.readOnly) extensions.push(EditorState.readOnly.of(true), EditorView.editable.of(false));
  const editorPane = el("div", { className: "pane", id: "editor" });
  const preview = el("div", { className: "pane preview", id: "preview" });
  new EditorView({ state: EditorState.create({ doc: ytext.toString(), extensions }), parent: editorPane });
  let pending = 0;
  const update = () => { cancelAnimationFrame(pending); pending = requestAnimationFrame(() => renderPreview(preview, ytext.toString())); };
  ytext.observe(update);
  update();

  const h1 = el("h1", { textContent: opts.title, id: "doc-title" });
  document.title = opts.title + " · Warren";
  const bar = el("div", { className: "titlebar" }, h1);
  if (opts.readOnly) bar.append(el("span", { className: "readonly-badge", textContent: "read-only" }));
  if (!opts.readOnly && opts.docName) {
    const rename = el("button", { textContent: "Rename", id: "rename" });
    rename.onclick = async () => {
      const t = prompt("New title", h1.textContent ?? "");
      if (t === null) return;
      const d = await send<DocInfo>("/api/docs/" + encodeURIComponent(opts.docName!), "PATCH", { title: t });
      h1.textContent = d.title;
    };
    bar.append(rename);
    if (opts.viewToken) {
      const link = new URL("/view/" + opts.viewToken, location.href).toString();
      const a = el("a", { href: link, textContent: "read-only link", id: "share-link", target: "_blank" });
      bar.append(el("span", { className: "share" }, "Share: ", a));
    }
  }
  bar.append(el("span", { className: "spacer" }), usersBar(provider));
  const layout = el("div", { className: "layout" + (opts.readOnly ? " readonly" : "") }, editorPane, preview);
  if (!opts.readOnly && opts.docName) layout.append(historyPanel(opts.docName, ytext));
  app.replaceChildren(bar, layout);
  // For tests and the curious: the live Yjs objects.
  Object.assign(window, { editor: { ydoc, ytext, provider, text: () => ytext.toString() } });
}

async function route() {
  const p = location.pathname;
  let m: RegExpMatchArray | null;
  if ((m = p.match(/^\/d\/([^/]+)$/))) {
    const name = decodeURIComponent(m[1]!);
    let info: DocInfo | undefined;
    try { info = await api<DocInfo>("/api/docs/" + encodeURIComponent(name)); editLinks.remember(info); } catch { /* a room opened by name only */ }
    editorPage({ ns: "document", room: name, readOnly: false, docName: name, title: info?.title ?? name, viewToken: info?.viewToken });
  } else if ((m = p.match(/^\/view\/([^/]+)$/))) {
    const token = decodeURIComponent(m[1]!);
    let title = "Shared document";
    try { title = (await api<{ title: string }>(`/parties/view/${encodeURIComponent(token)}/info`)).title; } catch { /* shown as is */ }
    editorPage({ ns: "view", room: token, readOnly: true, title });
  } else {
    await listPage();
  }
}

route().catch((e) => { app.textContent = String(e); });
