// Globe rendering: cobe (WebGL) when available, else an orthographic 2D canvas
// drawing of the same dots, so the game works (and is testable) without a GPU.
import type createGlobeFn from "cobe";

export interface Dot { lat: number; lng: number; size: number; color: [number, number, number] }
export interface Globe { kind: "webgl" | "2d"; destroy(): void }

const RAD = Math.PI / 180;

/** anglesFor returns the point the camera should center on, as {lat, lng}. */
export function anglesFor(lat: number, lng: number): [number, number] {
  return [lat, lng];
}

// cobe's camera angles for centering (lat, lng) (from cobe's README).
function cobeAngles(lat: number, lng: number): [number, number] {
  return [Math.PI - (lng * RAD - Math.PI / 2), lat * RAD];
}

function shortest(from: number, to: number): number {
  let d = (to - from) % (2 * Math.PI);
  if (d > Math.PI) d -= 2 * Math.PI;
  if (d < -Math.PI) d += 2 * Math.PI;
  return from + d;
}

function hasWebGL(): boolean {
  try {
    const c = document.createElement("canvas");
    return !!(c.getContext("webgl2") ?? c.getContext("webgl"));
  } catch {
    return false;
  }
}

// cobe 0.6.5 has room for 64 markers (a vec4[128] uniform, two vec4 each).
const COBE_MAX_MARKERS = 64;

type CobeMarker = { location: [number, number]; size: number; color?: [number, number, number] };

/**
 * cobeMarkers works around two things in cobe 0.6.5. Its onRender sets the
 * shader's marker count to markers.length while the shader reads two vec4 per
 * marker, so only the first half would be drawn: the real markers are followed
 * by as many invisible ones (size 0). And it holds at most 64 markers: the first
 * dot (your own) always, then the ones nearest the camera's focus.
 */
export function cobeMarkers(ds: Dot[], f: [number, number] | null): CobeMarker[] {
  let pick = ds;
  if (ds.length > COBE_MAX_MARKERS) {
    const [lat0, lng0] = f ?? [ds[0]!.lat, ds[0]!.lng];
    const dist = (d: Dot) => {
      const c = Math.sin(lat0 * RAD) * Math.sin(d.lat * RAD) + Math.cos(lat0 * RAD) * Math.cos(d.lat * RAD) * Math.cos((d.lng - lng0) * RAD);
      return -c;
    };
    pick = [ds[0]!, ...ds.slice(1).sort((a, b) => dist(a) - dist(b)).slice(0, COBE_MAX_MARKERS - 1)];
  }
  const real = pick.map((d): CobeMarker => ({ location: [d.lat, d.lng], size: d.size, color: d.color }));
  return real.concat(real.map((m) => ({ location: m.location, size: 0 })));
}

export function createRenderer(
  canvas: HTMLCanvasElement,
  createGlobe: typeof createGlobeFn,
  dots: () => Dot[],
  focus: () => [number, number] | null,
): Globe {
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  const size = () => Math.min(1200, Math.max(200, canvas.offsetWidth || 600) * dpr);
  canvas.dataset.renderer = "none";
  const forced = new URLSearchParams(location.search).get("renderer");
  if (forced !== "2d" && hasWebGL()) {
    try {
      let phi = 0, theta = 0.3;
      const g = createGlobe(canvas, {
        devicePixelRatio: dpr, width: size(), height: size(), phi, theta,
        // mapBaseBrightness must be set: cobe 0.6.5 passes undefined (NaN) to the
        // shader otherwise, and SwiftShader's max(x, NaN) turns the sphere black.
        dark: 1, diffuse: 1.2, mapSamples: 16000, mapBrightness: 6, mapBaseBrightness: 0,
        baseColor: [0.3, 0.3, 0.3], markerColor: [0.1, 0.8, 1], glowColor: [0.35, 0.45, 0.7],
        markers: [],
        onRender: (st) => {
          const f = focus();
          if (f) {
            const [p, t] = cobeAngles(f[0], f[1]);
            const tp = shortest(phi, p);
            phi += (tp - phi) * 0.12;
            theta += (Math.max(-1.2, Math.min(1.2, t)) - theta) * 0.12;
          } else {
            phi += 0.005;
          }
          st.phi = phi;
          st.theta = theta;
          st.width = size();
          st.height = size();
          st.markers = cobeMarkers(dots(), f);
        },
      });
      canvas.dataset.renderer = "webgl";
      return { kind: "webgl", destroy: () => g.destroy() };
    } catch (e) {
      console.warn("WebGL globe failed, drawing in 2D:", e);
    }
  }
  return create2D(canvas, dots, focus, size);
}

function create2D(canvas: HTMLCanvasElement, dots: () => Dot[], focus: () => [number, number] | null, size: () => number): Globe {
  const ctx = canvas.getContext("2d")!;
  let lat0 = 20, lng0 = 0, stop = false;
  canvas.dataset.renderer = "2d";
  const frame = () => {
    if (stop) return;
    const s = size();
    if (canvas.width !== s) { canvas.width = s; canvas.height = s; }
    const f = focus();
    if (f) {
      lat0 += (f[0] - lat0) * 0.12;
      let d = f[1] - lng0;
      if (d > 180) d -= 360;
      if (d < -180) d += 360;
      lng0 += d * 0.12;
    } else {
      lng0 += 0.3;
    }
    const R = s * 0.42, cx = s / 2, cy = s / 2;
    ctx.clearRect(0, 0, s, s);
    const grad = ctx.createRadialGradient(cx - R * 0.3, cy - R * 0.3, R * 0.1, cx, cy, R);
    grad.addColorStop(0, "#2b3a5c");
    grad.addColorStop(1, "#0c1222");
    ctx.fillStyle = grad;
    ctx.beginPath(); ctx.arc(cx, cy, R, 0, 2 * Math.PI); ctx.fill();
    ctx.strokeStyle = "#4a6aa855";
    ctx.stroke();
    const sφ0 = Math.sin(lat0 * RAD), cφ0 = Math.cos(lat0 * RAD);
    const project = (lat: number, lng: number): [number, number] | null => {
      const φ = lat * RAD, dλ = (lng - lng0) * RAD;
      const cosc = sφ0 * Math.sin(φ) + cφ0 * Math.cos(φ) * Math.cos(dλ);
      if (cosc < 0) return null;
      return [cx + R * Math.cos(φ) * Math.sin(dλ), cy - R * (cφ0 * Math.sin(φ) - sφ0 * Math.cos(φ) * Math.cos(dλ))];
    };
    ctx.fillStyle = "#4a6aa866"; // graticule dots
    for (let la = -60; la <= 60; la += 30) for (let lo = -180; lo < 180; lo += 15) {
      const p = project(la, lo);
      if (p) ctx.fillRect(p[0] - 1, p[1] - 1, 2, 2);
    }
    const ds = dots();
    for (let i = ds.length - 1; i >= 0; i--) { // most important last, on top
      const d = ds[i]!;
      const p = project(d.lat, d.lng);
      if (!p) continue;
      ctx.fillStyle = `rgb(${d.color.map((x) => Math.round(x * 255)).join(",")})`;
      ctx.beginPath(); ctx.arc(p[0], p[1], Math.max(3, d.size * R * 0.35), 0, 2 * Math.PI); ctx.fill();
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  return { kind: "2d", destroy: () => { stop = true; } };
}
