// Live charts of the process's metrics, polled from /_warren/api/stats once a
// second: rates of the runtime's counters and levels of its gauges, the last five
// minutes, one uPlot chart each (as the dashboard app draws its series).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api } from "./api.ts";
import type { Stats } from "./api.ts";

interface Series {
  title: string;
  value: (s: Stats) => number;
  rate: boolean; // plot the per-second rate of a counter
}

const series: Series[] = [
  { title: "turns/s", value: (s) => s.runtime["Turns"] ?? 0, rate: true },
  { title: "failed turns/s", value: (s) => s.runtime["FailedTurns"] ?? 0, rate: true },
  { title: "commits/s", value: (s) => s.runtime["Commits"] ?? 0, rate: true },
  { title: "open databases", value: (s) => s.runtime["OpenDatabases"] ?? 0, rate: false },
  { title: "sockets", value: (s) => s.sockets["Open"] ?? 0, rate: false },
  { title: "messages in/s", value: (s) => s.sockets["MessagesIn"] ?? 0, rate: true },
];

const keep = 300; // points: five minutes at one a second

/** startCharts draws the charts into el and calls onStats with every sample. */
export function startCharts(el: HTMLElement, onStats: (s: Stats) => void): void {
  const times: number[] = [];
  const values: number[][] = series.map(() => []);
  let prev: { t: number; raw: number[] } | null = null;
  const plots = series.map((s) => {
    const box = document.createElement("div");
    box.className = "chart";
    box.appendChild(document.createElement("h4")).textContent = s.title;
    el.appendChild(box);
    return new uPlot(
      { width: 260, height: 120, legend: { show: false }, series: [{}, { stroke: "#0b57d0", width: 1.5 }], axes: [{ show: false }, { size: 40 }] },
      [[], []],
      box,
    );
  });
  const tick = async () => {
    let s: Stats;
    try {
      s = await api<Stats>("GET", "stats");
    } catch {
      return;
    }
    const t = Date.parse(s.at) / 1000;
    const raw = series.map((x) => x.value(s));
    if (prev && t > prev.t) {
      times.push(t);
      series.forEach((x, i) => values[i]!.push(x.rate ? Math.max(0, (raw[i]! - prev!.raw[i]!) / (t - prev!.t)) : raw[i]!));
      if (times.length > keep) {
        times.shift();
        for (const v of values) v.shift();
      }
      plots.forEach((p, i) => p.setData([times, values[i]!]));
    }
    prev = { t, raw };
    onStats(s);
  };
  void tick();
  setInterval(() => void tick(), 1000);
}
