// The editor page (/d/<name>) and the read-only viewer (/view/<token>): a
// CodeMirror editor bound to the document's Y.Text over the y-websocket
// protocol, a live Markdown preview, the version history, and who is here.
// On a wide screen the three sit side by side; on a phone or tablet they are
// tabs. The document's title lives in the index (the list) and, for the tabs
// that have it open, in the document's shared "meta" map, so a rename shows in
// every open tab at once.
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { EditorView, basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { markdown } from "@codemirror/lang-markdown";
import { yCollab } from "y-codemirror.next";
import { marked } from "marked";
import DOMPurify from "dompurify";
import { ConnectionStatus, el, partyURL, presenceChips, promptDialog, toast } from "@warren/shared";
import { renameDoc } from "./api.ts";
import { historyPanel } from "./history.ts";
import { myName, publishUser, setMyName, type AwarenessUser } from "./identity.ts";

/** The preview's sanitiser: DOMPurify's defaults, without <style> and style attributes, so a
 * document cannot restyle the page for everyone who opens it. */
const previewPolicy = { FORBID_TAGS: ["style"], FORBID_ATTR: ["style"] };

function renderPreview(target: HTMLElement, text: string): void {
  const html = marked.parse(text, { async: false }) as string;
  target.innerHTML = DOMPurify.sanitize(html, previewPolicy);
  if (!text.trim()) target.replaceChildren(el("p", { class: "w-empty", text: "Nothing to preview yet: what you type on the left shows here, as Markdown." }));
}

function showStatus(provider: WebsocketProvider, status: ConnectionStatus): void {
  const show = () => {
    const state = provider.wsconnected ? (provider.synced ? "synced" : "syncing") : "offline";
    status.set(provider.wsconnected ? (provider.synced ? "online" : "connecting") : "offline",
      state === "synced" ? "connected" : state === "syncing" ? "syncing…" : "offline: edits are kept and merge on reconnect");
    status.element.dataset["sync"] = state;
  };
  provider.on("status", show);
  provider.on("sync", show);
  show();
}

const svgNS = "http://www.w3.org/2000/svg";

/** icon is a 16 px stroked SVG icon of path d, hidden from assistive tech (the button names itself). */
function icon(d: string): SVGSVGElement {
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(svgNS, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "2");
  path.setAttribute("stroke-linecap", "round");
  path.setAttribute("stroke-linejoin", "round");
  svg.append(path);
  return svg;
}
const copyIcon = () => icon("M9 9h10v10H9zM5 15V5h10");
const pencilIcon = () => icon("M4 20h4L19 9l-4-4L4 16zM13.5 6.5l4 4");

/** Options of {@link editorPage}. */
export interface EditorOptions {
  /** "document" (edit, by name) or "view" (read-only, by token). */
  ns: "document" | "view";
  room: string;
  readOnly: boolean;
  title: string;
  /** The document's name (editors only): renames and versions use it. */
  docName?: string;
  viewToken?: string;
}

/** editorPage fills app with the editor of one document. */
export function editorPage(app: HTMLElement, status: ConnectionStatus, opts: EditorOptions): void {
  const ydoc = new Y.Doc();
  const ytext = ydoc.getText("content");
  const meta = ydoc.getMap<unknown>("meta");
  // y-websocket joins serverUrl and room with "/": both come from partyURL, so the name is encoded.
  const url = partyURL(opts.ns, opts.room);
  const cut = url.lastIndexOf("/");
  const provider = new WebsocketProvider(url.slice(0, cut), url.slice(cut + 1), ydoc);
  showStatus(provider, status);
  const rename = publishUser(provider.awareness, myName());

  const undoManager = new Y.UndoManager(ytext);
  const label = opts.readOnly ? "Document (read-only)" : "Document text (Markdown)";
  const extensions = [basicSetup, markdown(), EditorView.lineWrapping, yCollab(ytext, provider.awareness, { undoManager }),
    EditorView.contentAttributes.of({ "aria-label": label })];
  if (opts.readOnly) extensions.push(EditorState.readOnly.of(true), EditorView.editable.of(false));
  const editorPane = el("section", { class: "pane editor-pane", id: "editor", "aria-label": "Editor" });
  const preview = el("section", { class: "pane preview", id: "preview", "aria-label": "Preview", tabindex: "0" });
  new EditorView({ state: EditorState.create({ doc: ytext.toString(), extensions }), parent: editorPane });
  let pending = 0;
  const update = () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => renderPreview(preview, ytext.toString()));
  };
  ytext.observe(update);
  update();

  // Title: the index's, then live from the meta map.
  const h1 = el("h1", { id: "doc-title", text: opts.title });
  const setTitle = (t: string) => {
    h1.textContent = t;
    document.title = `${t} · Warren docs`;
  };
  setTitle(opts.title);
  provider.once("sync", () => {
    // This tab just read the index, whose title is the current one: a rename made
    // from the list reaches the other open tabs from here.
    const shared = meta.get("title");
    if (!opts.readOnly && shared !== undefined && shared !== opts.title) meta.set("title", opts.title);
  });
  meta.observe((e) => {
    const t = meta.get("title");
    if (e.keysChanged.has("title") && typeof t === "string") setTitle(t);
  });

  const bar = el("div", { class: "titlebar" }, h1);
  if (opts.readOnly) bar.append(el("span", { class: "w-badge w-badge-warn readonly-badge", text: "read-only" }));
  if (!opts.readOnly && opts.docName) {
    const docName = opts.docName;
    bar.append(el("button", {
      type: "button", class: "w-btn w-btn-sm", id: "rename", text: "Rename",
      onclick: async () => {
        const t = await promptDialog({ title: "Rename the document", label: "Title", value: h1.textContent ?? "", maxLength: 200, confirm: "Rename", id: "rename-dialog" });
        if (t === null) return;
        try {
          const d = await renameDoc(docName, t);
          meta.set("title", d.title); // every open tab follows
          setTitle(d.title);
        } catch (err) {
          toast(`Could not rename: ${(err as Error).message}`, { kind: "error" });
        }
      },
    }));
    if (opts.viewToken) {
      const link = new URL("/view/" + opts.viewToken, location.href).toString();
      bar.append(el("a", { class: "w-btn w-btn-sm share", href: link, id: "share-link", target: "_blank", rel: "noopener", text: "Read-only link" }),
        el("button", {
          type: "button", class: "w-btn w-btn-sm w-btn-icon", id: "copy-share", title: "Copy the read-only link",
          "aria-label": "Copy the read-only link",
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(link);
              toast("Read-only link copied: whoever opens it can read, not edit.");
            } catch {
              toast(link);
            }
          },
        }, copyIcon()));
    }
  }
  const users = el("ul", { class: "users", id: "users", "aria-label": "People here" });
  const meButton = el("button", {
    type: "button", class: "w-btn w-btn-sm", id: "me", title: "Change your name",
    onclick: async () => {
      const n = await promptDialog({ title: "Your name", message: "Shown on your cursor and in the list of people here. Kept in this browser.", label: "Name", value: myName(), maxLength: 40, confirm: "Save", id: "name-dialog", autocomplete: "nickname" });
      if (n === null) return;
      setMyName(n);
      rename(n);
      drawUsers();
    },
  });
  const drawUsers = () => {
    const people = [];
    for (const [id, st] of provider.awareness.getStates()) {
      const u = (st as { user?: AwarenessUser }).user;
      if (u?.name) people.push({ id: String(id), name: u.name, color: u.color, you: id === provider.awareness.clientID });
    }
    people.sort((a, b) => Number(b.you) - Number(a.you) || a.name.localeCompare(b.name));
    presenceChips(users, people);
    meButton.replaceChildren(pencilIcon(), el("span", { class: "w-sr-only", text: "Change your name: " }), el("span", { id: "me-name", text: myName() }));
  };
  provider.awareness.on("change", drawUsers);
  drawUsers();
  bar.append(el("span", { class: "spacer" }), users, meButton);

  // Panes, and tabs to switch between them on narrow screens.
  const panes: [string, HTMLElement][] = [["Editor", editorPane], ["Preview", preview]];
  if (!opts.readOnly && opts.docName) panes.push(["History", historyPanel(opts.docName, ytext, meta)]);
  const tabs = el("div", { class: "w-tabs pane-tabs", role: "tablist", "aria-label": "Show" });
  const select = (i: number) => {
    panes.forEach(([, pane], j) => pane.classList.toggle("active", i === j));
    [...tabs.children].forEach((t, j) => {
      t.setAttribute("aria-selected", String(i === j));
      (t as HTMLElement).tabIndex = i === j ? 0 : -1;
    });
  };
  panes.forEach(([name, pane], i) => {
    pane.setAttribute("role", "tabpanel");
    pane.setAttribute("aria-labelledby", `tab-${name.toLowerCase()}`);
    const tab = el("button", { type: "button", class: "w-tab", role: "tab", id: `tab-${name.toLowerCase()}`, "aria-controls": pane.id, text: name, onclick: () => select(i) });
    tab.addEventListener("keydown", (e) => {
      const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!d) return;
      const next = (i + d + panes.length) % panes.length;
      select(next);
      (tabs.children[next] as HTMLElement).focus();
    });
    tabs.append(tab);
  });
  select(0);
  const layout = el("div", { class: `layout panes-${panes.length}` }, ...panes.map(([, p]) => p));
  app.replaceChildren(bar, tabs, layout);
  // For tests and the curious: the live Yjs objects.
  Object.assign(window, { editor: { ydoc, ytext, meta, provider, text: () => ytext.toString() } });
}
