// Warren chat: one room per URL path. User data only ever reaches the DOM as
// text nodes (textContent, or the tokens of format.ts), never through innerHTML,
// so hostile content renders as text and links are only ever http(s) or mailto.
import ReconnectingWebSocket from "partysocket/ws";
import "@warren/shared/design.css";
import { ConnectionStatus, avatar as personAvatar, colorFor, confirmDialog, initHeader, partyURL, plural, presenceChips, toast as showToast } from "@warren/shared";
import { formatMessage } from "./format.ts";
import { MAX_CONTENT_BYTES, MAX_NAME_BYTES, isRetryable, randomID, utf8Length, type ChatMessage, type ClientFrame, type PresenceUser, type ServerFrame } from "./protocol.ts";

const $ = <T extends Element>(sel: string): T => {
  const el = document.querySelector<T>(sel);
  if (!el) throw new Error(`missing ${sel}`);
  return el;
};

// ---- identity and room ------------------------------------------------------------

const room = decodeURIComponent(location.pathname.slice(1).split("/")[0] ?? "");
if (!room) location.replace("/");

const store = {
  get name(): string { return localStorage.getItem("warren-chat:name") ?? ""; },
  set name(v: string) { localStorage.setItem("warren-chat:name", v); },
  get token(): string {
    let t = localStorage.getItem("warren-chat:token");
    if (!t) {
      t = randomID(32);
      localStorage.setItem("warren-chat:token", t);
    }
    return t;
  },
};

// ---- state ------------------------------------------------------------------------

/** A message sent by us and not yet confirmed; a refused one keeps the server's reason and code. */
interface Pending { content: string; createdAt: number; error?: string; code?: string }

const messages = new Map<string, ChatMessage>(); // by id, confirmed by the server
const pending = new Map<string, Pending>(); // sent by us, not yet confirmed
let myUID = "";
let lastRev = 0; // every change up to it is applied: the resume point
// While a resume comes page by page (chat:resume with more), live changes still
// arrive; lastRev stays at the last page and liveRev keeps the highest live rev.
let catchingUp = false;
let liveRev = 0;
let hasMore = false;
let loadingHistory = false;
let unread = 0;
const typers = new Map<string, { name: string; until: number }>();

// ---- DOM --------------------------------------------------------------------------

const list = $<HTMLOListElement>("#messages");
const timeline = $<HTMLElement>("#timeline");
const composer = $<HTMLFormElement>("#composer");
const input = composer.querySelector("textarea")!;
const status = new ConnectionStatus($<HTMLElement>("#status"));
const historyStatus = $<HTMLElement>("#history-status");
const jump = $<HTMLButtonElement>("#jump");
initHeader($<HTMLElement>("#top"));

$("#room-name").textContent = room;
document.title = `${room} · Warren chat`;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function avatar(name: string, uid: string): HTMLElement {
  return personAvatar({ id: uid || name, name, color: colorFor(uid || name) });
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

function timeEl(ms: number): HTMLTimeElement {
  const d = new Date(ms);
  const t = el("time", "", timeFmt.format(d));
  t.dateTime = d.toISOString();
  t.title = fullFmt.format(d);
  return t;
}

/** renderMessage builds one message row; every user-supplied string goes through textContent. */
function renderMessage(m: ChatMessage | (Pending & { id: string }), opts: { pendingState?: Pending; search?: boolean } = {}): HTMLLIElement {
  const confirmed = "seq" in m;
  const user = confirmed ? m.user : store.name;
  const uid = confirmed ? m.uid : myUID;
  const li = el("li", "msg");
  li.dataset.id = m.id;
  if (uid === myUID) li.classList.add("mine");
  li.append(avatar(user, uid));
  const body = el("div", "body");
  const head = el("div", "head");
  head.append(el("span", "author", user), timeEl(m.createdAt));
  if (confirmed && m.editedAt) head.append(el("span", "edited", "edited"));
  const p = opts.pendingState;
  if (p) {
    li.classList.add(p.error ? "failed" : "pending");
    head.append(el("span", "state", p.error ? `not sent: ${p.error}` : "sending…"));
  }
  const content = el("div", "content");
  content.append(formatMessage(m.content));
  body.append(head, content);
  if (p?.error) {
    // Retry only what a retry can deliver (a rate limit passes); a message the
    // server refuses as such (too long, invalid) can be edited or discarded.
    const row = el("div", "failed-actions");
    const action = (cls: string, text: string, run: () => void) => {
      const b = el("button", `w-link-btn ${cls}`, text);
      b.type = "button";
      b.addEventListener("click", run);
      row.append(b);
    };
    if (isRetryable(p.code)) action("retry", "Retry", () => { delete p.error; delete p.code; resendPending(); renderAll(); });
    else action("edit-failed", "Edit", () => { pending.delete(m.id); input.value = p.content; autosize(); checkLength(); renderAll(); input.focus(); });
    action("discard", "Discard", () => { pending.delete(m.id); renderAll(); });
    body.append(row);
  }
  li.append(body);
  if (confirmed && uid === myUID && !opts.search && !p) {
    const actions = el("div", "msg-actions");
    const edit = el("button", "w-btn w-btn-ghost w-btn-sm edit", "Edit");
    edit.type = "button";
    edit.setAttribute("aria-label", "Edit this message");
    edit.addEventListener("click", () => startEdit(li, m));
    const del = el("button", "w-btn w-btn-ghost w-btn-sm delete", "Delete");
    del.type = "button";
    del.setAttribute("aria-label", "Delete this message");
    del.addEventListener("click", async () => {
      const preview = m.content.length > 120 ? m.content.slice(0, 120) + "…" : m.content;
      if (await confirmDialog({ title: "Delete this message?", message: preview, confirm: "Delete", danger: true, id: "delete-dialog" })) {
        send({ type: "chat:delete", id: m.id });
      }
    });
    actions.append(edit, del);
    li.append(actions);
  }
  if (opts.search) {
    li.tabIndex = 0;
    li.setAttribute("role", "button");
    li.setAttribute("aria-label", `Show the message of ${user} in the room`);
    li.addEventListener("click", () => jumpTo(m.id));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); jumpTo(m.id); } });
  }
  return li;
}

function startEdit(li: HTMLLIElement, m: ChatMessage): void {
  const content = li.querySelector(".content");
  if (!content || li.classList.contains("editing")) return;
  li.classList.add("editing");
  const box = el("textarea", "edit-box");
  box.value = m.content;
  box.setAttribute("aria-label", "Edit your message");
  const hint = el("div", "edit-hint", "Enter to save · Esc to cancel");
  content.replaceWith(box);
  box.after(hint);
  box.focus();
  const done = (save: boolean) => {
    const text = box.value.trim();
    if (save && text && text !== m.content) {
      send({ type: "update", id: m.id, content: text, user: store.name, role: "user" });
    }
    renderAll();
  };
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); done(true); }
    if (e.key === "Escape") done(false);
  });
}

function sorted(): ChatMessage[] {
  return [...messages.values()].filter((m) => !m.deleted).sort((a, b) => a.seq - b.seq);
}

/** nearBottom reports whether the timeline shows its latest messages. */
function nearBottom(): boolean {
  return timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 80;
}

/** newWhileAway counts messages of others that arrived while scrolled up, for the jump button. */
let newWhileAway = 0;

function updateJump(): void {
  if (nearBottom()) newWhileAway = 0;
  jump.hidden = nearBottom();
  jump.firstChild!.textContent = newWhileAway ? `${plural(newWhileAway, "new message")} ` : "Jump to latest ";
}

function scrollToLatest(): void {
  timeline.scrollTop = timeline.scrollHeight;
  newWhileAway = 0;
  updateJump();
}

/** renderAll redraws the list, keeping the view pinned to the bottom or to what was on screen. */
function renderAll(anchor?: { id: string; top: number }): void {
  const atBottom = nearBottom();
  const notices = [...list.querySelectorAll<HTMLLIElement>("li.notice")];
  const frag = document.createDocumentFragment();
  const rows = sorted();
  let ni = 0;
  for (const m of rows) {
    while (ni < notices.length && Number(notices[ni]!.dataset.at) < m.createdAt) frag.append(notices[ni++]!);
    frag.append(renderMessage(m));
  }
  while (ni < notices.length) frag.append(notices[ni++]!);
  for (const [id, p] of pending) {
    if (!messages.has(id)) frag.append(renderMessage({ id, ...p }, { pendingState: p }));
  }
  list.replaceChildren(frag);
  if (rows.length === 0 && pending.size === 0) {
    list.append(el("li", "empty", "No messages yet. Say hello, and share the link to invite people."));
  }
  historyStatus.textContent = hasMore ? (loadingHistory ? "Loading older messages…" : "") : rows.length ? "Beginning of the room" : "";
  if (anchor) {
    const row = list.querySelector<HTMLElement>(`li[data-id="${CSS.escape(anchor.id)}"]`);
    if (row) timeline.scrollTop = row.offsetTop - anchor.top;
  } else if (atBottom) {
    timeline.scrollTop = timeline.scrollHeight;
  }
  updateJump();
}

function notice(text: string, at: number): void {
  const li = el("li", "notice", text);
  li.dataset.at = String(at);
  list.append(li);
  const all = list.querySelectorAll("li.notice");
  if (all.length > 50) all[0]!.remove();
  renderAll();
}

function renderPresence(users: PresenceUser[]): void {
  presenceChips($<HTMLUListElement>("#online"), users.map((u) => ({ id: u.uid, name: u.name, color: colorFor(u.uid), you: u.uid === myUID })));
  $("#online-count").textContent = `${users.length} online`;
}

function renderTyping(): void {
  const now = Date.now();
  for (const [k, v] of typers) if (v.until < now) typers.delete(k);
  const names = [...typers.values()].map((v) => v.name);
  const t = $<HTMLElement>("#typing");
  t.textContent = names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : names.length < 4 ? `${names.join(", ")} are typing…` : "Several people are typing…";
}
setInterval(renderTyping, 1000);

function setStatus(s: "connecting" | "online" | "offline"): void {
  status.set(s, s === "online" ? "connected" : s === "offline" ? "reconnecting…" : "connecting…");
}

function updateTitle(): void {
  document.title = `${unread ? `(${unread}) ` : ""}${room} · Warren chat`;
}
const markRead = () => { if (!document.hidden) { unread = 0; updateTitle(); } };
document.addEventListener("visibilitychange", markRead);
window.addEventListener("focus", markRead);

// ---- connection -------------------------------------------------------------------

let socket: ReconnectingWebSocket | undefined;
/** The connection id (partysocket's _pk), one per page as partysocket keeps it across reconnects. */
const connID = crypto.randomUUID();

function connect(): void {
  // The URL is built on every (re)connect, so a reconnect resumes from the last rev seen.
  socket = new ReconnectingWebSocket(() => {
    const query: Record<string, string> = { proto: "1", token: store.token, name: store.name };
    if (lastRev) query["since"] = String(lastRev);
    return partyURL("chat", room, { pk: connID, query });
  });
  socket.addEventListener("open", () => setStatus("online"));
  socket.addEventListener("close", () => setStatus("offline"));
  socket.addEventListener("message", (e: MessageEvent) => {
    if (typeof e.data !== "string") return;
    try {
      handle(JSON.parse(e.data) as ServerFrame);
    } catch (err) {
      console.error("chat: bad frame", err);
    }
  });
}

/** send writes a frame when connected; pending messages are resent after every (re)connect. */
function send(f: ClientFrame): boolean {
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(f));
  return true;
}

function resendPending(): void {
  for (const [id, p] of pending) {
    if (!p.error) send({ type: "add", id, content: p.content, user: store.name, role: "user" });
  }
}

/** upsert applies a message unless a newer version of it is already applied (pages of a resume may be older than live frames). */
function upsert(m: ChatMessage): void {
  const old = messages.get(m.id);
  if (!old || old.rev <= m.rev) messages.set(m.id, m);
  pending.delete(m.id);
}

function seenRev(rev: number): void {
  if (catchingUp) liveRev = Math.max(liveRev, rev);
  else lastRev = Math.max(lastRev, rev);
}

function askResume(): void {
  send({ type: "chat:resume", since: lastRev });
}

/** loadOlder asks for the page of history before the oldest message shown. */
function loadOlder(): void {
  if (!hasMore || loadingHistory) return;
  const first = sorted()[0];
  if (first && send({ type: "chat:history", before: first.seq, limit: 50 })) {
    loadingHistory = true;
    historyStatus.textContent = "Loading older messages…";
  }
}

/** fillView loads older pages while the list does not fill the view (pages are bounded in bytes, so one may be short). */
function fillView(): void {
  if (timeline.scrollHeight <= timeline.clientHeight + 120) loadOlder();
}

function handle(f: ServerFrame): void {
  switch (f.type) {
    case "chat:welcome":
      myUID = f.uid;
      if (f.name && f.name !== store.name) toast(`“${store.name}” is taken in this room: you appear as “${f.name}”.`);
      $("#me-name").textContent = f.name || store.name;
      break;
    case "all": {
      messages.clear();
      for (const m of f.messages) upsert(m);
      hasMore = f.hasMore;
      lastRev = f.rev ?? 0;
      catchingUp = false;
      renderAll();
      timeline.scrollTop = timeline.scrollHeight;
      resendPending();
      fillView();
      break;
    }
    case "chat:resume":
      for (const m of f.messages) upsert(m);
      lastRev = Math.max(lastRev, f.rev);
      renderAll();
      if (f.more) {
        catchingUp = true;
        askResume();
      } else {
        catchingUp = false;
        lastRev = Math.max(lastRev, liveRev);
        resendPending();
      }
      break;
    case "add":
    case "update": {
      const { type: _, ...m } = f;
      const isNew = !messages.has(m.id) && !pending.has(m.id);
      if (isNew && m.uid !== myUID && !nearBottom()) newWhileAway++;
      upsert(m);
      seenRev(m.rev ?? 0);
      if (isNew && m.uid !== myUID && document.hidden) { unread++; updateTitle(); }
      if (m.uid !== myUID) typers.delete(m.uid);
      renderAll();
      break;
    }
    case "chat:history": {
      const first = sorted()[0];
      const anchor = first ? { id: first.id, top: (list.querySelector<HTMLElement>(`li[data-id="${CSS.escape(first.id)}"]`)?.offsetTop ?? 0) - timeline.scrollTop } : undefined;
      for (const m of f.messages) if (!messages.has(m.id)) messages.set(m.id, m);
      hasMore = f.hasMore;
      loadingHistory = false;
      renderAll(anchor);
      fillView();
      break;
    }
    case "chat:search":
      showResults(f.q, f.messages);
      break;
    case "chat:presence":
      renderPresence(f.users);
      break;
    case "chat:join":
    case "chat:leave":
      if (f.uid !== myUID) notice(`${f.name} ${f.type === "chat:join" ? "joined" : "left"}`, f.at);
      if (f.type === "chat:leave") { typers.delete(f.uid); renderTyping(); }
      break;
    case "chat:typing":
      if (f.typing) typers.set(f.uid, { name: f.name, until: Date.now() + 6000 });
      else typers.delete(f.uid);
      renderTyping();
      break;
    case "chat:error": {
      if (f.code === "rate_limited" && catchingUp && !f.id) { // a resume page refused: ask again later
        setTimeout(askResume, f.retryAfter ?? 1000);
        break;
      }
      if (f.code === "rate_limited" && loadingHistory && !f.id) {
        loadingHistory = false;
        setTimeout(fillView, f.retryAfter ?? 1000);
        break;
      }
      const p = f.id ? pending.get(f.id) : undefined;
      if (p) { p.error = f.message; p.code = f.code; renderAll(); } else toast(f.message);
      break;
    }
  }
}

// ---- UI events --------------------------------------------------------------------

function toast(text: string): void {
  showToast(text);
}

let typingSent = 0;
function typing(on: boolean): void {
  const now = Date.now();
  if (on && now - typingSent < 3000) return;
  typingSent = on ? now : 0;
  send({ type: "chat:typing", typing: on });
}

/** checkLength shows how much of the size limit the draft uses, and refuses a draft over it. */
function checkLength(): boolean {
  const n = utf8Length(input.value.trim());
  const count = $<HTMLElement>("#composer-count");
  const over = n > MAX_CONTENT_BYTES;
  count.textContent = over ? `${n - MAX_CONTENT_BYTES} bytes too long (at most ${MAX_CONTENT_BYTES})` : n > MAX_CONTENT_BYTES * 0.9 ? `${MAX_CONTENT_BYTES - n} bytes left` : "";
  count.classList.toggle("over", over);
  composer.setAttribute("aria-invalid", String(over));
  return !over;
}

composer.addEventListener("submit", (e) => {
  e.preventDefault();
  const content = input.value.trim();
  if (!content) return;
  if (!checkLength()) {
    input.focus();
    return; // the counter says why; the draft stays to be shortened
  }
  const id = randomID(12);
  pending.set(id, { content, createdAt: Date.now() });
  input.value = "";
  autosize();
  send({ type: "add", id, content, user: store.name, role: "user" });
  typing(false);
  renderAll();
  timeline.scrollTop = timeline.scrollHeight;
});

input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    composer.requestSubmit();
  }
});
function autosize(): void {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}
input.addEventListener("input", () => {
  autosize();
  checkLength();
  typing(input.value.trim() !== "");
});

timeline.addEventListener("scroll", () => {
  if (timeline.scrollTop < 120) loadOlder();
});

const searchForm = $<HTMLFormElement>("#search");
const results = $<HTMLElement>("#search-results");
searchForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const q = (searchForm.elements.namedItem("q") as HTMLInputElement).value.trim();
  if (q) send({ type: "chat:search", q });
  else results.hidden = true;
});
$("#search-close").addEventListener("click", () => { results.hidden = true; });
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !results.hidden && !document.querySelector("dialog[open]")) results.hidden = true;
});
jump.addEventListener("click", () => { scrollToLatest(); input.focus(); });
timeline.addEventListener("scroll", updateJump, { passive: true });
const people = $<HTMLElement>("#people");
const onlineCount = $<HTMLButtonElement>("#online-count");
onlineCount.addEventListener("click", () => {
  const open = !people.classList.contains("open");
  people.classList.toggle("open", open);
  onlineCount.setAttribute("aria-expanded", String(open));
});

function showResults(q: string, found: ChatMessage[]): void {
  $("#search-summary").textContent = `${plural(found.length, "result")} for “${q}”`;
  results.querySelector("ol")!.replaceChildren(...found.map((m) => renderMessage(m, { search: true })));
  results.hidden = false;
}

function jumpTo(id: string): void {
  results.hidden = true;
  const row = list.querySelector<HTMLElement>(`li[data-id="${CSS.escape(id)}"]`);
  if (row) {
    row.scrollIntoView({ block: "center" });
    row.classList.add("flash");
    setTimeout(() => row.classList.remove("flash"), 1500);
  }
}

$("#copy-link").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(location.href);
    toast("Link copied: share it to invite people");
  } catch {
    toast(location.href);
  }
});

const dialog = $<HTMLDialogElement>("#name-dialog");
const nameForm = $<HTMLFormElement>("#name-form");
function askName(): void {
  (nameForm.elements.namedItem("name") as HTMLInputElement).value = store.name;
  dialog.showModal();
}
nameForm.addEventListener("submit", (e) => {
  const name = (nameForm.elements.namedItem("name") as HTMLInputElement).value.trim().slice(0, 32);
  const error = $<HTMLElement>("#name-error");
  if (!name || utf8Length(name) > MAX_NAME_BYTES) {
    e.preventDefault(); // keep the dialog open
    error.textContent = name ? `That name is too long (at most ${MAX_NAME_BYTES} bytes).` : "Type a name.";
    return;
  }
  error.textContent = "";
  const changed = name !== store.name;
  store.name = name;
  $("#me-name").textContent = name;
  if (!socket) connect();
  else if (changed) socket.reconnect();
});
dialog.addEventListener("cancel", (e) => { if (!store.name) e.preventDefault(); });
$("#rename").addEventListener("click", askName);

setStatus("connecting");
renderAll();
if (store.name) {
  $("#me-name").textContent = store.name;
  connect();
} else {
  askName();
}
