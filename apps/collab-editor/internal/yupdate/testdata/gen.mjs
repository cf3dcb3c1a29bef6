// Random concurrent editing in real Yjs, for the Go tests of yupdate: four
// docs edit a Y.Text "content" (strings with non-BMP characters, deletions,
// formatting, embeds), a Y.Map "m" and a Y.Array "a", syncing pairs at random.
// Every update any doc emits is recorded (remote ones re-encoded, so updates
// overlap), and some docs' states midway, as bases for diffs.
//
//   node gen.mjs <first seed> <runs> <ops> [bmp]
//
// With bmp, the strings have no characters beyond the BMP: Yjs then never splits
// a surrogate pair (a split turns both halves into U+FFFD in the splitting doc
// only, so docs hold different content under the same IDs).
//
// Output, one JSON line: per run (seeds first, first+1, ...),
// {updates: [base64], bases: [base64], text, map, array} where text, map and
// array are what every doc shows once all are synced.
import * as Y from "yjs";

const [firstArg, runsArg, opsArg, bmpArg] = process.argv.slice(2);
let seed = 0;
const rand = () => { // mulberry32
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rand() * n);
const pick = (xs) => xs[int(xs.length)];
const b64 = (u) => Buffer.from(u).toString("base64");

function run(s) {
  seed = s >>> 0;
  const updates = [];
  const docs = [];
  for (let i = 0; i < 4; i++) {
    const d = new Y.Doc();
    d.clientID = 1 + int(1000) * 4 + i; // distinct, in random order
    d.on("update", (u) => updates.push(b64(u)));
    docs.push(d);
  }
  const words = ["a", "bc", "😀", "é", "xyz\n", "ÿ😀z", "🎉🎉", "hello "].filter((w) => bmpArg !== "bmp" || !/[\u{10000}-\u{10ffff}]/u.test(w));
  const bases = [];
  const ops = Number(opsArg);
  for (let i = 0; i < ops; i++) {
    const d = pick(docs);
    const t = d.getText("content");
    const len = t.length;
    switch (int(10)) {
      case 0: case 1: case 2:
        t.insert(int(len + 1), pick(words));
        break;
      case 3:
        if (len > 0) { const p = int(len); t.delete(p, 1 + int(Math.min(6, len - p))); }
        break;
      case 4:
        if (len > 0) { const p = int(len); t.format(p, 1 + int(Math.min(4, len - p)), { bold: rand() < 0.5 ? true : null }); }
        break;
      case 5:
        d.transact(() => {
          t.insert(int(len + 1), pick(words));
          if (rand() < 0.3) t.insertEmbed(int(t.length + 1), { img: pick(words) });
          const m = d.getMap("m");
          if (rand() < 0.5) m.set("k" + int(3), int(100)); else m.delete("k" + int(3));
        });
        break;
      case 6: {
        const a = d.getArray("a");
        a.insert(int(a.length + 1), [int(10), pick(words), { o: int(3) }]);
        if (a.length > 2 && rand() < 0.4) a.delete(int(a.length - 1), 1);
        break;
      }
      case 7: case 8: { // sync one pair, one way
        const from = pick(docs), to = pick(docs);
        if (from !== to) Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)));
        break;
      }
      case 9:
        if (bases.length < 6) bases.push(b64(Y.encodeStateAsUpdate(d)));
        break;
    }
  }
  for (let round = 0; round < 2; round++) {
    for (const a of docs) for (const b of docs) if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  }
  const d0 = docs[0];
  return {
    updates, bases,
    text: d0.getText("content").toString(),
    map: d0.getMap("m").toJSON(),
    array: d0.getArray("a").toJSON(),
  };
}

const runs = [];
for (let i = 0; i < Number(runsArg); i++) runs.push(run(Number(firstArg) + i));
console.log(JSON.stringify(runs));
