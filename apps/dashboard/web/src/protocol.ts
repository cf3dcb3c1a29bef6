// Wire types of the dashboard's stream objects (see the app's README.md).

/** A series over a range, in columns: t[i] (Unix s) is the bucket of count[i], ... */
export interface Series {
  t: number[];
  count: number[];
  sum: number[];
  min: number[];
  max: number[];
  p50: number[];
  p90: number[];
  p99: number[];
}

export interface IngestError {
  at: number; // Unix ms
  source: string;
  message: string;
  problems?: string[];
}

export interface PollConfig {
  url: string;
  every: string;
}

export type ServerFrame =
  // A snapshot's buckets before `cut` are `res` seconds wide, those from `cut` on 1 s;
  // `omitted` series did not fit (at most 20,000 buckets in all).
  | { type: "snapshot"; stream: string; res: number; from: number; to: number; cut: number; series: Record<string, Series>; omitted: number; errors: IngestError[]; poll: PollConfig | null; pushRate: number; now: number }
  | { type: "delta"; res: number; series: Record<string, Series>; first: number; last: number; sent: number }
  | { type: "ingest-error"; error: IngestError }
  | { type: "ack"; accepted: number }
  | { type: "error"; error: string; problems?: string[] };

/** One bucket: [count, sum, min, max, p50, p90, p99]. */
export type Bucket = [number, number, number, number, number, number, number];

/** Ranges the picker offers, in seconds. Up to an hour the board is live over the socket at 1 s. */
export const RANGES: Record<string, number> = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800 };
export const LIVE_SOCKET_MAX = 3600;

/** mergeSeries upserts the buckets of s from `since` on into m (a bucket replaces the one it has). */
export function mergeSeries(m: Map<number, Bucket>, s: Series, since = -Infinity): void {
  for (let i = 0; i < s.t.length; i++) {
    if (s.t[i]! < since) continue;
    m.set(s.t[i]!, [s.count[i]!, s.sum[i]!, s.min[i]!, s.max[i]!, s.p50[i]!, s.p90[i]!, s.p99[i]!]);
  }
}

/** resLabel names a bucket width: 1s, 1m, 1h, or seconds. */
export function resLabel(res: number): string {
  return res === 3600 ? "1h" : res === 60 ? "1m" : `${res}s`;
}

/** formatValue prints a value compactly (3 significant digits, k/M suffixes). */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toPrecision(3) + "G";
  if (a >= 1e6) return (v / 1e6).toPrecision(3) + "M";
  if (a >= 1e4) return (v / 1e3).toPrecision(3) + "k";
  if (Number.isInteger(v)) return String(v);
  return v.toPrecision(3);
}

/**
 * rateWindow is the span (seconds) "events/s" is measured over at resolution res:
 * the last 10 s at 1 s buckets, 5 min at 1 min, 1 h at 1 h. Short enough to be the
 * current rate during live ingest, long enough not to jump with every bucket.
 */
export function rateWindow(res: number): number {
  return res <= 1 ? 10 : res <= 60 ? 300 : 3600;
}

/** formatSpan prints seconds as "10 s", "5 min" or "1 h". */
export function formatSpan(s: number): string {
  return s < 60 ? `${s} s` : s < 3600 ? `${s / 60} min` : `${s / 3600} h`;
}

/**
 * recentRate is events per second over the rateWindow(res) seconds before end,
 * counting whole buckets only: end is rounded down to a bucket boundary, so the
 * bucket still filling up (the current second) does not drag the rate down.
 */
export function recentRate(m: Map<number, Bucket>, end: number, res: number): number {
  const w = rateWindow(res);
  const to = Math.floor(end / res) * res;
  let n = 0;
  for (const [t, b] of m) if (t >= to - w && t < to) n += b[0];
  return n / w;
}
