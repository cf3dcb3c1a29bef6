// The document list (/): search by title, and "New document", the only way a
// document comes to be from this front end (a mistyped link shows "no such
// document" instead of creating one).
import { el, plural, promptDialog, toast } from "@warren/shared";
import { createDoc, editLinks, listDocs, renameDoc, type DocInfo, type ListedDoc } from "./api.ts";

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** newDocument creates a document titled title (asked for when not given) and opens it. */
export async function newDocument(title?: string, name?: string): Promise<void> {
  const t = title ?? (await promptDialog({ title: "New document", label: "Title", placeholder: "e.g. Meeting notes", maxLength: 200, confirm: "Create", id: "new-doc-dialog" }));
  if (t === null) return;
  try {
    const d = await createDoc(t, name);
    editLinks.remember(d);
    location.href = "/d/" + encodeURIComponent(d.name);
  } catch (err) {
    toast(`Could not create the document: ${(err as Error).message}`, { kind: "error" });
  }
}

/** listPage fills app with the list of documents. */
export async function listPage(app: HTMLElement): Promise<void> {
  document.title = "Documents · Warren docs";
  const title = el("input", { type: "text", class: "w-input", id: "new-title", placeholder: "e.g. Meeting notes", maxlength: 200, autocomplete: "off" });
  const create = el("button", { type: "submit", class: "w-btn w-btn-primary", id: "create-doc", text: "New document" });
  const form = el("form", { class: "create", id: "create-form" },
    el("label", { class: "w-field grow", for: "new-title" }, el("span", { class: "w-label", text: "Title of a new document" }), title), create);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void newDocument(title.value.trim());
  });
  const search = el("input", { type: "search", class: "w-input", id: "doc-search", placeholder: "Search by title", autocomplete: "off" });
  const summary = el("p", { class: "w-hint", id: "doc-count", "aria-live": "polite" });
  const list = el("ul", { class: "doclist", id: "docs" });
  app.replaceChildren(
    el("div", { class: "list-head" }, el("h1", { text: "Documents" }), form),
    el("div", { class: "search", role: "search" }, el("label", { class: "w-sr-only", for: "doc-search", text: "Search documents by title" }), search, summary),
    list,
  );
  let docs: ListedDoc[] = [];
  try {
    docs = await listDocs();
  } catch (err) {
    list.replaceChildren(el("li", { class: "w-empty", text: `The list could not be loaded: ${(err as Error).message}` }));
    return;
  }
  const mine = editLinks.all();
  const rows = docs.map((d) => ({ d, li: docRow(d, mine[d.viewToken]) }));
  const filter = () => {
    const q = search.value.trim().toLocaleLowerCase();
    const shown = rows.filter(({ d }) => d.title.toLocaleLowerCase().includes(q));
    list.replaceChildren(...shown.map((r) => r.li));
    if (docs.length === 0) list.append(el("li", { class: "w-empty", text: "No documents yet: create the first one above." }));
    else if (shown.length === 0) list.append(el("li", { class: "w-empty", text: `No document has “${search.value.trim()}” in its title.` }));
    summary.textContent = q ? `${plural(shown.length, "document")} of ${docs.length}` : plural(docs.length, "document");
  };
  search.addEventListener("input", filter);
  filter();
}

function docRow(d: ListedDoc, name: string | undefined): HTMLLIElement {
  // Documents this browser can edit open in the editor; the others read-only.
  const href = name ? "/d/" + encodeURIComponent(name) : "/view/" + encodeURIComponent(d.viewToken);
  const link = el("a", { href, class: "doc-title", text: d.title });
  const li = el("li", {}, link, el("time", { datetime: d.created, text: dateFmt.format(new Date(d.created)) }));
  if (name) {
    li.append(el("button", {
      type: "button", class: "w-btn w-btn-sm rename", text: "Rename", "aria-label": `Rename “${d.title}”`,
      onclick: async () => {
        const t = await promptDialog({ title: "Rename the document", label: "Title", value: d.title, maxLength: 200, confirm: "Rename", id: "rename-dialog" });
        if (t === null) return;
        try {
          const nd: DocInfo = await renameDoc(name, t);
          link.textContent = nd.title;
          d.title = nd.title;
        } catch (err) {
          toast(`Could not rename: ${(err as Error).message}`, { kind: "error" });
        }
      },
    }));
  } else {
    li.append(el("span", { class: "w-badge readonly-badge", text: "read-only" }));
  }
  return li;
}
