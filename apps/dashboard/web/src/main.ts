// The dashboard's board: one uPlot panel per series of a stream, live over a
// WebSocket (snapshot, then coalesced deltas) or from range queries over HTTP.
import ReconnectingWebSocket from "partysocket/ws";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "@warren/shared/design.css";
import { ConnectionStatus, initHeader, onThemeChange, partyPath, partyURL } from "@warren/shared";
import { RANGES, LIVE_SOCKET_MAX, formatSpan, formatValue, mergeSeries, rateWindow, recentRate, resLabel, type Bucket, type IngestError, type PollConfig, type ServerFrame, type Series } from "./protocol.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
initHeader();
const status = new ConnectionStatus($("status"));

// --- state, from the URL: /s/<stream>?range=15m[&to=<unix s>] (to = paused) ---
const path = location.pathname.match(/^\/s\/(.+)$/);
const stream = path ? decodeURIComponent(path[1]!) : "warren";
const params = new URLSearchParams(location.search);
let range = params.get("range") && RANGES[params.get("range")!] ? params.get("range")! : "5m";
let pausedAt: number | null = params.get("to") ? Number(params.get("to")) || null : null;
let res = 1;
// Live deltas update buckets from `cut` on: older ones are `res` wide (see Snapshot).
let cut = -Infinity;
// Series the snapshot left out (too many for one view) stay out of the live view.
let omitted = 0;
const data = new Map<string, Map<number, Bucket>>();
const panels = new Map<string, { el: HTMLElement; plot: uPlot | null; stats: HTMLElement; chart: HTMLElement }>();
let errors: IngestError[] = [];
let dismissedBefore = 0;

const base = partyPath("stream", stream);
document.title = `${stream} · Warren dashboard`;
$("board-title").textContent = `Stream ${stream}`;
$<HTMLInputElement>("stream").value = stream;
$("endpoint").textContent = `${location.origin}${base}/events`;

function syncURL() {
  const q = new URLSearchParams({ range });
  if (pausedAt !== null) q.set("to", String(pausedAt));
  history.replaceState(null, "", `/s/${encodeURIComponent(stream)}?${q}`);
}

// --- controls ---
const rangesEl = $("ranges");
for (const r of Object.keys(RANGES)) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "w-btn w-btn-sm";
  b.textContent = r;
  b.dataset["range"] = r;
  b.addEventListener("click", () => {
    range = r;
    reload();
  });
  rangesEl.append(b);
}
const liveBtn = $<HTMLButtonElement>("live");
liveBtn.addEventListener("click", () => {
  // The paused window ends where the live one did (windowBounds: the end of the
  // current second, excluded), so it holds every event shown when paused.
  pausedAt = pausedAt === null ? Math.floor(Date.now() / 1000) + 1 : null;
  reload();
});
$<HTMLFormElement>("stream-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $<HTMLInputElement>("stream").value.trim();
  if (name) location.href = `/s/${encodeURIComponent(name)}?range=${range}`;
});
$("dismiss").addEventListener("click", () => {
  dismissedBefore = Date.now();
  renderErrors();
});

function renderControls() {
  for (const b of rangesEl.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset["range"] === range));
  liveBtn.setAttribute("aria-pressed", String(pausedAt === null));
  const icon = document.createElement("span");
  icon.setAttribute("aria-hidden", "true");
  icon.textContent = pausedAt === null ? "●" : "❚❚";
  liveBtn.replaceChildren(icon, pausedAt === null ? " live" : " paused");
  liveBtn.title = pausedAt === null ? "Live: press to pause the view here" : "Paused: press to follow live data again";
}

// --- errors ---
function renderErrors() {
  const shown = errors.filter((e) => e.at > dismissedBefore);
  const list = $("error-list");
  list.replaceChildren(
    ...shown
      .slice()
      .reverse()
      .map((e) => {
        const li = document.createElement("li");
        li.className = "ingest-error";
        const when = document.createElement("span");
        when.className = "when";
        when.textContent = `${new Date(e.at).toLocaleTimeString()} ${e.source}`;
        li.append(when, e.message);
        if (e.problems?.length) {
          const ul = document.createElement("ul");
          ul.className = "problems";
          for (const p of e.problems) {
            const pi = document.createElement("li");
            pi.textContent = p;
            ul.append(pi);
          }
          li.append(ul);
        }
        return li;
      }),
  );
  $("errors").hidden = shown.length === 0;
}

// --- panels ---
function windowBounds(): [number, number] {
  const to = pausedAt ?? Math.floor(Date.now() / 1000) + 1;
  return [to - RANGES[range]!, to];
}

let drawQueued = false;
function draw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    drawNow();
  });
}

function drawNow() {
  const [from, to] = windowBounds();
  const keys = [...data.keys()].sort();
  const container = $("panels");
  let any = false;
  for (const key of keys) {
    const m = data.get(key)!;
    const ts = [...m.keys()].filter((t) => t >= from && t < to).sort((a, b) => a - b);
    if (ts.length === 0 && !panels.has(key)) continue;
    any = true;
    let p = panels.get(key);
    if (!p) {
      const el = document.createElement("section");
      el.className = "panel";
      el.dataset["series"] = key;
      const h = document.createElement("h3");
      h.textContent = key;
      const stats = document.createElement("div");
      stats.className = "stats";
      const chart = document.createElement("div");
      chart.className = "chart";
      chart.setAttribute("role", "img");
      chart.setAttribute("aria-label", `Chart of ${key}: average, p50, p99 and max over time`);
      el.append(h, stats, chart);
      p = { el, plot: null, stats, chart };
      panels.set(key, p);
      const after = [...panels.keys()].sort().indexOf(key);
      const next = container.children[after];
      container.insertBefore(el, next ?? null);
    }
    const cols: number[][] = [ts, [], [], [], []];
    let total = 0;
    for (const t of ts) {
      const b = m.get(t)!;
      cols[1]!.push(b[0] ? b[1] / b[0] : NaN);
      cols[2]!.push(b[4]);
      cols[3]!.push(b[6]);
      cols[4]!.push(b[3]);
      total += b[0];
    }
    const last = ts.length ? m.get(ts[ts.length - 1]!)! : null;
    const lastAvg = last && last[0] ? last[1] / last[0] : NaN;
    p.el.dataset["points"] = String(ts.length);
    // Stats are updated in place (they change every second): no node is replaced
    // under a reader, a screen reader or an accessibility checker.
    const stat = (label: string, cls: string, v: string, title?: string) => {
      let b = p!.stats.querySelector<HTMLElement>(`b.${cls}`);
      if (!b) {
        const s = document.createElement("span");
        s.append(document.createTextNode(""), " ");
        b = document.createElement("b");
        b.className = cls;
        s.append(b);
        p!.stats.append(s);
      }
      const s = b.parentElement!;
      if (s.firstChild!.textContent !== label) s.firstChild!.textContent = label;
      if (b.textContent !== v) b.textContent = v;
      if (title !== undefined && s.title !== title) s.title = title;
    };
    stat("last", "last", formatValue(lastAvg));
    stat("events", "total", String(total), "events in the range shown");
    // The rate is the recent one (whole buckets before now, or before the pause),
    // not the range's average: during live ingest it is what arrives now. A coarse
    // snapshot's recent part is at 1 s.
    const recentRes = cut > -Infinity ? 1 : res;
    const span = formatSpan(rateWindow(recentRes));
    stat(`events/s (${pausedAt === null ? "last" : "at pause, last"} ${span})`, "rate", formatValue(recentRate(m, Math.min(to, Date.now() / 1000), recentRes)), `events per second over the ${span} before ${pausedAt === null ? "now" : "the pause"}`);
    stat("res", "res", resLabel(res));
    const width = Math.max(200, p.chart.clientWidth);
    if (!p.plot) {
      p.plot = new uPlot(plotOptions(width), cols as uPlot.AlignedData, p.chart);
    } else {
      if (Math.abs(p.plot.width - width) > 4) p.plot.setSize({ width, height: 180 });
      p.plot.setData(cols as uPlot.AlignedData);
    }
  }
  $("empty").hidden = any;
}

/** css reads a colour token of the current theme, resolved to rgb(). */
function css(token: string): string {
  const probe = document.createElement("span");
  probe.style.color = `var(${token})`;
  document.body.append(probe);
  const c = getComputedStyle(probe).color;
  probe.remove();
  return c;
}

function plotOptions(width: number): uPlot.Options {
  const axis = { stroke: css("--w-muted"), grid: { stroke: css("--grid") }, ticks: { stroke: css("--grid") } };
  return {
    width,
    height: 180,
    scales: { x: { time: true, range: () => windowBounds() } },
    axes: [axis, { ...axis, size: 60 }],
    series: [
      {},
      { label: "avg", stroke: css("--series-avg"), width: 1.5 },
      { label: "p50", stroke: css("--series-p50"), width: 1 },
      { label: "p99", stroke: css("--series-p99"), width: 1 },
      { label: "max", stroke: css("--series-max"), width: 1, dash: [4, 4] },
    ],
  };
}

// A theme change rebuilds the charts in the new colours.
onThemeChange(() => {
  for (const p of panels.values()) {
    p.plot?.destroy();
    p.plot = null;
  }
  draw();
});

// --- data sources ---
let socket: ReconnectingWebSocket | null = null;
let timer: number | undefined;

function useSocketData() {
  return pausedAt === null && RANGES[range]! <= LIVE_SOCKET_MAX;
}

function onFrame(f: ServerFrame) {
  switch (f.type) {
    case "snapshot":
      errors = f.errors ?? [];
      renderErrors();
      renderPoll(f.poll);
      if (useSocketData()) {
        res = f.res;
        cut = f.res > 1 ? f.cut : -Infinity;
        data.clear();
        for (const [k, s] of Object.entries(f.series)) mergeSeries(getSeries(k), s);
        omitted = f.omitted;
        $("omitted").hidden = !omitted;
        $("omitted").textContent = `${omitted} more series are not shown live (too many for one view): pause, or query them.`;
        draw();
      }
      break;
    case "delta":
      if (!useSocketData()) break;
      for (const [k, s] of Object.entries(f.series)) {
        if (omitted === 0 || data.has(k)) mergeSeries(getSeries(k), s, cut);
      }
      draw();
      break;
    case "ingest-error":
      errors = [...errors, f.error].slice(-10);
      renderErrors();
      break;
  }
}

function getSeries(k: string) {
  let m = data.get(k);
  if (!m) data.set(k, (m = new Map()));
  return m;
}

async function fetchRange() {
  const [from, to] = windowBounds();
  try {
    const r = await fetch(`${base}/query?from=${from}&to=${to}`);
    const body = await r.json();
    if (!r.ok) throw new Error(body.error ?? r.statusText);
    res = body.res;
    cut = -Infinity;
    omitted = 0;
    $("omitted").hidden = true;
    data.clear();
    for (const [k, s] of Object.entries(body.series as Record<string, Series>)) mergeSeries(getSeries(k), s);
    draw();
  } catch (e) {
    status.set("error", `query failed: ${(e as Error).message}`);
  }
}

function reload() {
  syncURL();
  renderControls();
  clearInterval(timer);
  for (const p of panels.values()) {
    p.plot?.destroy();
    p.el.remove();
  }
  panels.clear();
  data.clear();
  socket?.close();
  socket = null;
  if (pausedAt === null) {
    // Live: the socket brings errors always, and the data for ranges up to an hour.
    status.set("connecting", "connecting…");
    socket = new ReconnectingWebSocket(partyURL("stream", stream, { query: { window: String(Math.min(RANGES[range]!, LIVE_SOCKET_MAX)) } }));
    socket.addEventListener("open", () => status.set("online", "live"));
    socket.addEventListener("close", () => status.set("offline", "reconnecting…"));
    socket.addEventListener("message", (ev: MessageEvent) => {
      try {
        onFrame(JSON.parse(ev.data as string) as ServerFrame);
      } catch {
        /* not a frame of ours */
      }
    });
    if (!useSocketData()) {
      void fetchRange();
      timer = window.setInterval(() => void fetchRange(), 10_000);
    } else {
      // Slide the window even when no data arrives.
      timer = window.setInterval(draw, 1000);
    }
  } else {
    status.set("idle", `paused at ${new Date(pausedAt * 1000).toLocaleString()}`);
    void fetchRange();
    void fetch(base)
      .then((r) => r.json())
      .then((info) => {
        errors = info.errors ?? [];
        renderErrors();
      });
  }
}

// --- send events / poll ---
$("send-btn").addEventListener("click", async () => {
  const out = $("send-result");
  const r = await fetch(`${base}/events`, { method: "POST", body: $<HTMLTextAreaElement>("payload").value });
  const body = await r.json().catch(() => ({ error: r.statusText }));
  out.className = r.ok ? "" : "bad";
  out.textContent = r.ok ? `${r.status}: accepted ${body.accepted} events` : `${r.status}: ${body.error}${body.problems ? "\n" + body.problems.join("\n") : ""}`;
});
function renderPoll(poll: PollConfig | null) {
  $("poll-status").textContent = poll
    ? `This stream polls ${poll.url} every ${poll.every}.`
    : "This stream polls nothing. The operator sets polls when starting the server (DASHBOARD_POLL=stream=url,…); no page can.";
}
void fetch(`${base}/poll`)
  .then((r) => r.json())
  .then((b) => renderPoll(b.poll))
  .catch(() => {});
window.addEventListener("resize", draw);

reload();
