// The inspector every Warren app serves at /_warren/ (when started with an admin
// token): namespaces, objects (search, sort, pages), one object's tables, rows, KV
// entries, SQL console, sockets, alarms, its metrics and recent turns, its history
// (bookmarks, restore and its undo, when the app keeps one: -history), and the
// process's live metrics. It talks to /_warren/api/ with the session cookie the login form set;
// every request carries X-Warren-Admin: 1, which the API requires of cookie-
// authenticated state changes (a cross-site page cannot send it).
import { api, ApiError } from "./api.ts";
import { startCharts } from "./charts.ts";
import type { Bookmark, Details, ObjectList, QueryResult, KVPage, Stats } from "./api.ts";

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
};

const nsSelect = $<HTMLSelectElement>("namespace");
const search = $<HTMLInputElement>("search");
const sort = $<HTMLSelectElement>("sort");
const objectsBody = $("objects").querySelector("tbody")!;
const more = $<HTMLButtonElement>("more");
const kvMore = $<HTMLButtonElement>("kv-more");

let next = "";
let current: { ns: string; id: string; name: string } | null = null;
let rowsTable = "";
let rowsOffset = 0;
const pageRows = 50;
let kvNext = ""; // the key after which the current object's next KV page starts
const pageKV = 100;

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

function fmtTime(s: string): string {
  const d = new Date(s);
  return d.getTime() > 0 ? d.toLocaleString() : "-";
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** table builds a <table> of rows under columns, all as text. */
function table(columns: string[], rows: unknown[][]): HTMLTableElement {
  const t = document.createElement("table");
  const head = t.createTHead().insertRow();
  for (const c of columns) head.appendChild(document.createElement("th")).textContent = c;
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const v of r) tr.insertCell().textContent = cell(v);
  }
  return t;
}

function show(el: HTMLElement, child: Node | string): void {
  el.replaceChildren(child);
}

function showError(el: HTMLElement, err: unknown): void {
  el.hidden = false;
  el.textContent = err instanceof Error ? err.message : String(err);
}

async function loadNamespaces(): Promise<void> {
  const nss = await api<string[]>("GET", "namespaces");
  nsSelect.replaceChildren(...nss.map((n) => new Option(n, n)));
  const want = new URLSearchParams(location.hash.slice(1)).get("ns");
  if (want && nss.includes(want)) nsSelect.value = want;
  await loadObjects(true);
}

async function loadObjects(reset: boolean): Promise<void> {
  if (!nsSelect.value) return;
  if (reset) {
    next = "";
    objectsBody.replaceChildren();
  }
  const q = new URLSearchParams({ sort: sort.value, limit: "50" });
  if (search.value) q.set("prefix", search.value);
  if (next) q.set("cursor", next);
  const list = await api<ObjectList>("GET", `objects/${encodeURIComponent(nsSelect.value)}?${q}`);
  for (const o of list.objects) {
    const tr = objectsBody.insertRow();
    tr.dataset["id"] = o.id;
    for (const v of [o.name || "-", o.id.slice(0, 16) + "…", fmtBytes(o.size), fmtTime(o.last_active), o.open ? "open" : "evicted", String(o.sockets)]) {
      tr.insertCell().textContent = v;
    }
    tr.addEventListener("click", () => void openObject(nsSelect.value, o.id));
  }
  next = list.next ?? "";
  more.hidden = next === "";
}

async function openObject(ns: string, id: string): Promise<void> {
  const d = await api<Details>("GET", `objects/${encodeURIComponent(ns)}/${id}`);
  current = { ns, id, name: d.name ?? "" };
  for (const tr of objectsBody.querySelectorAll("tr")) tr.classList.toggle("selected", tr.dataset["id"] === id);
  $("object").hidden = false;
  $("object-error").hidden = true;
  $("object-title").textContent = d.name ? d.name : id;
  $("object-summary").textContent = `${ns} · ${id} · ${fmtBytes(d.size)} · ${d.open ? "open" : "evicted"} · ${d.sockets} sockets · ${d.kv_entries} KV entries · last active ${fmtTime(d.last_active)}`;
  const exp = `/_warren/api/objects/${encodeURIComponent(ns)}/${id}/export`;
  $<HTMLAnchorElement>("export-json").href = `${exp}?format=json`;
  $<HTMLAnchorElement>("export-sqlite").href = `${exp}?format=sqlite`;
  $("tables").replaceChildren(
    ...d.tables.map((t) => {
      const li = document.createElement("li");
      li.textContent = `${t.name} (${t.rows} rows)`;
      li.dataset["table"] = t.name;
      li.addEventListener("click", () => {
        rowsTable = t.name;
        rowsOffset = 0;
        void loadRows();
      });
      return li;
    }),
  );
  $("rows-view").hidden = true;
  show($("sockets"), table(["id", "tags", "attachment", "last seen"], d.socket_list.map((s) => [s.id, s.tags.join(", "), s.attachment ?? "", fmtTime(s.last_seen)])));
  show($("alarms"), table(["name", "spec", "due", "retries"], d.alarms.map((a) => [a.name || "(alarm)", a.spec, fmtTime(a.due), a.retries])));
  const m = d.metrics;
  show($("object-metrics"), m ? table(["turns", "failed", "messages in", "messages out", "rows read", "rows written", "commit ms"],
    [[m.turns, m.failed_turns, m.messages, m.messages_sent, m.rows_read, m.rows_written, (m.commit_time_ns / 1e6).toFixed(1)]]) : "no turns since the process started");
  show($("recent"), table(["at", "turns", "failed", "commit ms", "error"], d.recent.slice().reverse().map((b) => [fmtTime(b.at), b.turns, b.failed, (b.commit_ns / 1e6).toFixed(2), b.error ?? ""])));
  $("kv").replaceChildren(table(["key", "value", "bytes"], []));
  kvNext = "";
  await Promise.all([loadKV(), loadHistory()]);
}

/** objectPath is the current object's API path. */
function objectPath(): string {
  if (!current) throw new Error("no object selected");
  return `objects/${encodeURIComponent(current.ns)}/${current.id}`;
}

/** loadHistory shows the current object's bookmark and history size, or that the app keeps no history. */
async function loadHistory(): Promise<void> {
  $("history-error").hidden = true;
  $("history-result").textContent = "";
  $<HTMLInputElement>("history-bookmark").value = "";
  let b: Bookmark;
  try {
    b = await api<Bookmark>("GET", `${objectPath()}/bookmark`);
  } catch (e) {
    $("history-controls").hidden = $("history-restore-controls").hidden = true;
    $("history-state").textContent = e instanceof ApiError && e.status === 400
      ? `no history: ${e.message} (start the app with -history 7d to keep one)`
      : `history unavailable: ${e instanceof Error ? e.message : String(e)}`;
    return;
  }
  $("history-controls").hidden = $("history-restore-controls").hidden = false;
  $("history-state").replaceChildren(
    "current bookmark ", code(b.bookmark), ` · history on disk ${fmtBytes(b.history_bytes ?? 0)}`,
  );
}

function code(text: string): HTMLElement {
  const c = document.createElement("code");
  c.textContent = text;
  return c;
}

/** loadKV appends the current object's next page of KV entries. */
async function loadKV(): Promise<void> {
  if (!current) return;
  const q = new URLSearchParams({ limit: String(pageKV) });
  if (kvNext) q.set("after", kvNext);
  const kv = await api<KVPage>("GET", `objects/${encodeURIComponent(current.ns)}/${current.id}/kv?${q}`);
  const body = $("kv").querySelector("tbody")!;
  for (const e of kv.entries) {
    const tr = body.insertRow();
    for (const v of [e.key, e.value, e.size]) tr.insertCell().textContent = cell(v);
  }
  kvNext = kv.next ?? "";
  kvMore.hidden = kvNext === "";
}

/** quoteIdent quotes a table name for SQL. */
function quoteIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

async function runSQL(query: string, write: boolean): Promise<QueryResult> {
  if (!current) throw new Error("no object selected");
  return api<QueryResult>("POST", `objects/${encodeURIComponent(current.ns)}/${current.id}/sql`, { query, write });
}

async function loadRows(): Promise<void> {
  const res = await runSQL(`SELECT * FROM ${quoteIdent(rowsTable)} LIMIT ${pageRows + 1} OFFSET ${rowsOffset}`, false);
  $("rows-view").hidden = false;
  $("rows-title").textContent = `${rowsTable}: rows ${rowsOffset + 1}–${rowsOffset + Math.min(res.rows.length, pageRows)}`;
  show($("rows"), table(res.columns, res.rows.slice(0, pageRows)));
  $<HTMLButtonElement>("rows-prev").disabled = rowsOffset === 0;
  $<HTMLButtonElement>("rows-next").disabled = res.rows.length <= pageRows;
}

function renderTop(s: Stats): void {
  const body = $("top").querySelector("tbody")!;
  body.replaceChildren();
  for (const m of s.top) {
    const tr = body.insertRow();
    for (const v of [`${m.namespace}/${m.name || m.id.slice(0, 16)}`, m.turns, m.failed_turns, m.messages, m.messages_sent, m.rows_read, m.rows_written, (m.commit_time_ns / 1e6).toFixed(1), m.sockets, fmtBytes(m.bytes)]) {
      tr.insertCell().textContent = String(v);
    }
  }
}

nsSelect.addEventListener("change", () => {
  location.hash = `ns=${encodeURIComponent(nsSelect.value)}`;
  void loadObjects(true);
});
let searchTimer = 0;
search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => void loadObjects(true), 200);
});
sort.addEventListener("change", () => void loadObjects(true));
more.addEventListener("click", () => void loadObjects(false));
kvMore.addEventListener("click", () => void loadKV());
$("rows-prev").addEventListener("click", () => {
  rowsOffset = Math.max(0, rowsOffset - pageRows);
  void loadRows();
});
$("rows-next").addEventListener("click", () => {
  rowsOffset += pageRows;
  void loadRows();
});
$("run").addEventListener("click", async () => {
  const err = $("sql-error");
  err.hidden = true;
  $("sql-result").replaceChildren();
  try {
    const write = $<HTMLInputElement>("write").checked;
    const res = await runSQL($<HTMLTextAreaElement>("sql").value, write);
    show($("sql-result"), write ? `${res.rows_written ?? 0} rows written` : table(res.columns, res.rows));
    if (res.truncated) $("sql-result").append(" (truncated)");
  } catch (e) {
    showError(err, e);
  }
});
$("delete").addEventListener("click", async () => {
  if (!current) return;
  if (!confirm(`Delete ${current.ns}/${current.name || current.id} for good? Its sockets are closed and its data removed.`)) return;
  try {
    await api("DELETE", `objects/${encodeURIComponent(current.ns)}/${current.id}`);
    current = null;
    $("object").hidden = true;
    await loadObjects(true);
  } catch (e) {
    showError($("object-error"), e);
  }
});

$("history-find").addEventListener("click", async () => {
  const err = $("history-error");
  err.hidden = true;
  try {
    const at = $<HTMLInputElement>("history-at").value;
    if (!at) throw new Error("choose a time first");
    const b = await api<Bookmark>("GET", `${objectPath()}/bookmark?at=${encodeURIComponent(new Date(at).toISOString())}`);
    $<HTMLInputElement>("history-bookmark").value = b.bookmark;
    $("history-result").replaceChildren("state at ", new Date(at).toLocaleString(), ": bookmark ", code(b.bookmark));
  } catch (e) {
    showError(err, e);
  }
});
$("history-restore").addEventListener("click", async () => {
  if (!current) return;
  const err = $("history-error");
  err.hidden = true;
  const bookmark = $<HTMLInputElement>("history-bookmark").value.trim();
  if (!bookmark) return showError(err, new Error("paste a bookmark, or find the one of a time"));
  if (!confirm(`Restore ${current.ns}/${current.name || current.id} to bookmark ${bookmark}? Its sockets are closed and it starts again from that state; the state it has now stays in its history.`)) return;
  try {
    const b = await api<Bookmark>("POST", `${objectPath()}/restore-bookmark`, { bookmark });
    await openObject(current.ns, current.id);
    $<HTMLInputElement>("history-bookmark").value = b.undo ?? "";
    $("history-result").replaceChildren("restored to ", code(b.bookmark), "; to undo, restore to ", code(b.undo ?? "?"), " (filled in above)");
  } catch (e) {
    showError(err, e);
  }
});

startCharts($("charts"), renderTop);
loadNamespaces().catch((e: unknown) => {
  if (e instanceof ApiError && e.status === 401) location.reload(); // the session expired: the login form
  else showError($("object-error"), e);
});
