// checkYFrames decodes the golden y-websocket frames of ../testdata/yframes.json
// (written by the Go test TestWireFramesGolden from what the server really sends
// and accepts) with y-protocols and lib0, the libraries the editor's client runs:
// each frame must be the kind the file says, read to its last byte, and its sync
// payloads must apply to a Yjs document (the server's to one, the client's to
// another) and its awareness states to an Awareness. It throws on the first that
// does not, so protocol.go and the client cannot drift without `npm run build`
// failing.
import { readFileSync } from "node:fs";
import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import * as awarenessProtocol from "y-protocols/awareness";

const kinds = { 0: "sync-step1", 1: "sync-step2", 2: "sync-update" };

export function checkYFrames(file) {
  const fixture = JSON.parse(readFileSync(file, "utf8"));
  for (const side of ["server", "client"]) {
    const doc = new Y.Doc();
    const awareness = new awarenessProtocol.Awareness(new Y.Doc());
    for (const { kind, hex } of fixture[side]) {
      const where = `${file}: ${side} frame ${kind} ${hex}`;
      try {
        const decoder = decoding.createDecoder(Uint8Array.from(Buffer.from(hex, "hex")));
        const type = decoding.readVarUint(decoder);
        let got;
        if (type === 0) {
          got = kinds[syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), doc, "golden")];
        } else if (type === 1) {
          awarenessProtocol.applyAwarenessUpdate(awareness, decoding.readVarUint8Array(decoder), "golden");
          got = "awareness";
        } else if (type === 3) {
          got = "query-awareness";
        }
        if (got !== kind) throw new Error(`decodes as ${got ?? "message type " + type}`);
        if (decoding.hasContent(decoder)) throw new Error("has bytes after its message");
      } catch (e) {
        throw new Error(`${where}: ${e.message} (protocol.go and y-protocols disagree)`);
      }
    }
    awareness.destroy(); // its timer would keep the build running
  }
}
