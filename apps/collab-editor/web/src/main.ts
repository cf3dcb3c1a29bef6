// The collab-editor front end: a document list (/), an editor (/d/<name>) and a
// read-only viewer (/view/<token>). Documents sync with Yjs over the y-websocket
// protocol to one Warren object per document. Only a document that exists is
// opened: a link to none says so (list.ts, missing.ts), so documents come to be
// on purpose, through "New document".
import "@warren/shared/design.css";
import { $, ConnectionStatus, initHeader } from "@warren/shared";
import { HTTPError, editLinks, getDoc, viewInfo } from "./api.ts";
import { editorPage } from "./editor.ts";
import { listPage, newDocument } from "./list.ts";
import { invalidViewLink, noSuchDocument } from "./missing.ts";

const app = $("#app");
const status = new ConnectionStatus($("#status"));
initHeader();
$("#new-doc").addEventListener("click", () => void newDocument());

/** isMissing reports whether err says the thing asked for does not exist. */
const isMissing = (err: unknown) => err instanceof HTTPError && err.status === 404;

async function route(): Promise<void> {
  const p = location.pathname;
  let m: RegExpMatchArray | null;
  if ((m = p.match(/^\/d\/([^/]+)$/))) {
    const name = decodeURIComponent(m[1]!);
    try {
      const info = await getDoc(name);
      editLinks.remember(info);
      editorPage(app, status, { ns: "document", room: name, readOnly: false, docName: name, title: info.title, viewToken: info.viewToken });
    } catch (err) {
      if (!isMissing(err)) throw err;
      noSuchDocument(app, name);
    }
  } else if ((m = p.match(/^\/view\/([^/]+)$/))) {
    const token = decodeURIComponent(m[1]!);
    try {
      const { title } = await viewInfo(token);
      editorPage(app, status, { ns: "view", room: token, readOnly: true, title });
    } catch (err) {
      if (!isMissing(err)) throw err;
      invalidViewLink(app);
    }
  } else {
    $("#new-doc").hidden = true; // the list has its own form
    await listPage(app);
  }
}

route().catch((e) => {
  status.set("error", "error");
  app.replaceChildren(Object.assign(document.createElement("p"), { className: "w-empty", textContent: `Something went wrong: ${(e as Error).message}` }));
});
