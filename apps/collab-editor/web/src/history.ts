// The version history panel: save a named version, preview one, restore one as
// a new edit. A saved version shows up in every open tab of the document: the
// saver bumps "versions" in the document's shared meta map, and every tab
// observing it reloads the list.
import * as Y from "yjs";
import { confirmDialog, el, plural, toast } from "@warren/shared";
import { listVersions, saveVersion, versionBytes, type Version } from "./api.ts";

/** replaceText turns ytext into next with one minimal edit (common prefix and suffix kept). */
export function replaceText(ytext: Y.Text, next: string): void {
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
export async function versionText(docName: string, id: number): Promise<string> {
  const b = await versionBytes(docName, id);
  let i = 0;
  const uint = () => {
    let x = 0, m = 1, c;
    do {
      c = b[i++]!;
      x += (c & 0x7f) * m;
      m *= 128;
    } while (c >= 0x80);
    return x;
  };
  const doc = new Y.Doc();
  for (let n = uint(); n > 0; n--) {
    const len = uint();
    Y.applyUpdate(doc, b.subarray(i, i + len));
    i += len;
  }
  return doc.getText("content").toString();
}

const timeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** historyPanel is the panel of docName's versions; meta is the document's shared meta map. */
export function historyPanel(docName: string, ytext: Y.Text, meta: Y.Map<unknown>): HTMLElement {
  const name = el("input", { type: "text", class: "w-input", id: "version-name", placeholder: "e.g. First draft", maxlength: 100, autocomplete: "off" });
  const save = el("button", { type: "submit", class: "w-btn w-btn-primary", id: "save-version", text: "Save version" });
  const form = el("form", { class: "save-form" },
    el("label", { class: "w-field", for: "version-name" }, el("span", { class: "w-label", text: "Name this version" }), name), save);
  const list = el("ul", { id: "versions", class: "versions" });
  const count = el("p", { class: "w-hint", id: "versions-count", "aria-live": "polite" });
  const dialog = el("dialog", { id: "version-dialog", class: "w-dialog version-dialog", "aria-labelledby": "version-dialog-title" });
  const refresh = async () => {
    const vs = await listVersions(docName);
    count.textContent = vs.length ? plural(vs.length, "saved version") : "No saved versions yet: name one above to come back to it later.";
    list.replaceChildren(...vs.map((v) => versionRow(docName, ytext, v, dialog)));
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    save.disabled = true;
    try {
      await saveVersion(docName, name.value.trim() || timeFmt.format(new Date()));
      name.value = "";
      meta.set("versions", Date.now()); // the other tabs reload their list
      await refresh();
    } catch (err) {
      toast(`Could not save the version: ${(err as Error).message}`, { kind: "error" });
    } finally {
      save.disabled = false;
    }
  });
  meta.observe((e) => {
    if (e.keysChanged.has("versions")) void refresh();
  });
  void refresh();
  return el("section", { class: "history pane", id: "history", "aria-labelledby": "history-title" },
    el("h2", { id: "history-title", text: "Version history" }), form, count, list, dialog);
}

function versionRow(docName: string, ytext: Y.Text, v: Version, dialog: HTMLDialogElement): HTMLElement {
  const preview = el("button", { type: "button", class: "w-btn w-btn-sm preview-version", text: "Preview", "aria-label": `Preview “${v.name}”` });
  const restore = el("button", { type: "button", class: "w-btn w-btn-sm restore-version", text: "Restore", "aria-label": `Restore “${v.name}”` });
  preview.addEventListener("click", async () => {
    const text = await versionText(docName, v.id);
    const close = el("button", { type: "button", class: "w-btn", text: "Close", onclick: () => dialog.close() });
    dialog.replaceChildren(
      el("h2", { id: "version-dialog-title", class: "w-dialog-title", text: v.name }),
      el("pre", { class: "version-text", text }),
      el("div", { class: "w-dialog-actions" }, close),
    );
    dialog.showModal();
  });
  restore.addEventListener("click", async () => {
    const ok = await confirmDialog({
      title: `Restore “${v.name}”?`,
      message: "The document becomes this version again, as a new edit that everyone sees. Nothing is lost: the history is kept.",
      confirm: "Restore",
      id: "restore-dialog",
    });
    if (ok) replaceText(ytext, await versionText(docName, v.id));
  });
  return el("li", {},
    el("span", { class: "vname", text: v.name }),
    el("time", { datetime: v.created, text: timeFmt.format(new Date(v.created)) }),
    el("span", { class: "vactions" }, preview, restore));
}
