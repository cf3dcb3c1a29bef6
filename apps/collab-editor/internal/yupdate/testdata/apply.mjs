// Applies updates to fresh Yjs docs, for the Go tests of yupdate.
//
//   node apply.mjs <file>
//
// The file holds JSON: [[base64 update, ...], ...]: each list is applied in order
// to a fresh doc. Output, one JSON line: per list, {text, map, array, pending}
// where pending says whether the doc holds structs or deletions it could not
// integrate.
import * as Y from "yjs";
import { readFileSync } from "node:fs";

const lists = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = lists.map((list) => {
  const d = new Y.Doc();
  for (const u of list) Y.applyUpdate(d, Buffer.from(u, "base64"));
  return {
    text: d.getText("content").toString(),
    map: d.getMap("m").toJSON(),
    array: d.getArray("a").toJSON(),
    pending: d.store.pendingStructs !== null || d.store.pendingDs !== null,
  };
});
console.log(JSON.stringify(out));
