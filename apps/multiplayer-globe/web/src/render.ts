// Globe rendering: cobe (WebGL) when available, else an orthographic 2D canvas
// drawing of the same dots, so the game works (and is testable) without a GPU.
import type createGlobeFn from "cobe";

export interface Dot { lat: number; lng: number; size: number; color: [number, number, number] }

/**
 * View is where the last drawn frame put the globe, in CSS pixels of the
 * canvas (from its top left corner): what name labels are placed by.
 */
export interface View {
  /** Radius of the globe's disc. */
  radius: number;
  /** project is where (lat, lng) is drawn, and how far it faces the viewer (1 at the centre, 0 at the rim); null on the far side. */
  project(lat: number, lng: number): [x: number, y: number, facing: number] | null;
  /** dotRadius is the radius at which a dot of the given size is drawn at the centre of the disc. */
  dotRadius(size: number): number;
}

export interface Globe {
  kind: "webgl" | "2d";
  destroy(): void;
}

const RAD = Math.PI / 180;

/** anglesFor returns the point the camera should center on, as {lat, lng}. */
export function anglesFor(lat: number, lng: number): [number, number] {
  return [lat, lng];
}

// cobe's camera angles for centering (lat, lng) (from cobe's README).
function cobeAngles(lat: number, lng: number): [number, number] {
  return [Math.PI - (lng * RAD - Math.PI / 2), lat * RAD];
}

/**
 * ortho projects (lat, lng) orthographically onto a disc of radius R centred on
 * (cx, cy), the view looking at (lat0, lng0) with north up (y grows downwards);
 * it returns the point and cos of its angle to the view's centre, null on the far side.
 */
export function ortho(lat: number, lng: number, lat0: number, lng0: number, R: number, cx: number, cy: number): [number, number, number] | null {
  const φ = lat * RAD, dλ = (lng - lng0) * RAD, φ0 = lat0 * RAD;
  const cosc = Math.sin(φ0) * Math.sin(φ) + Math.cos(φ0) * Math.cos(φ) * Math.cos(dλ);
  if (cosc < 0) return null;
  return [cx + R * Math.cos(φ) * Math.sin(dλ), cy - R * (Math.cos(φ0) * Math.sin(φ) - Math.sin(φ0) * Math.cos(φ) * Math.cos(dλ)), cosc];
}

/**
 * COBE_RADIUS is the globe's radius in cobe 0.6.5's drawing, as a fraction of
 * half the canvas's height: its fragment shader draws the sphere where
 * |uv|² <= 0.64, uv running from -1 to 1 over the height (at scale 1, offset 0).
 */
export const COBE_RADIUS = 0.8;

/**
 * cobeCentre is the (lat, lng) at the centre of cobe's view for its camera
 * angles: the inverse of cobeAngles (cobe's shader rotates the point
 * (cos φ cos λ, sin φ, -cos φ sin λ) by theta about x after phi about y).
 */
export function cobeCentre(phi: number, theta: number): [number, number] {
  let lng = (1.5 * Math.PI - phi) / RAD;
  lng = ((((lng + 180) % 360) + 360) % 360) - 180;
  return [theta / RAD, lng];
}

/** cobeView is the {@link View} of a cobe frame drawn with (phi, theta) on a canvas of w × h CSS pixels. */
export function cobeView(phi: number, theta: number, w: number, h: number): View {
  const [lat0, lng0] = cobeCentre(phi, theta);
  const radius = (COBE_RADIUS * h) / 2;
  return {
    radius,
    project: (lat, lng) => ortho(lat, lng, lat0, lng0, radius, w / 2, h / 2),
    // A marker of size s covers the points within s/2 of it on the unit sphere
    // (smoothstep(s/2, 0, distance) in the shader).
    dotRadius: (size) => (size / 2) * radius,
  };
}

/** PLAIN_RADIUS is the 2D drawing's globe radius, as a fraction of the canvas's width. */
const PLAIN_RADIUS = 0.42;

/** plainDotRadius is the radius of a dot of the given size in the 2D drawing of a globe of radius R. */
function plainDotRadius(size: number, R: number): number {
  return Math.max(3, size * R * 0.35);
}

/** The camera closes this share of its distance to the focus in every 1/60 s. */
const EASE_PER_FRAME = 0.12;

/**
 * Ease is the share of the way to its target the camera moves in a frame:
 * by time, not by frame, so that a slow renderer (a small phone, software
 * WebGL) still reaches the player instead of lagging behind for seconds.
 */
export class Ease {
  private last = 0;
  /** step is the share for a frame drawn at now (ms); the first frame goes all the way. */
  step(now: number): number {
    const dt = this.last ? Math.min(1000, now - this.last) : Infinity;
    this.last = now;
    return 1 - Math.pow(1 - EASE_PER_FRAME, dt / (1000 / 60));
  }
  /** frames is how many 60 Hz frames have passed since the last step (at most 60), for motion by time. */
  frames(now: number): number {
    return this.last ? Math.min(60, (now - this.last) / (1000 / 60)) : 1;
  }
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

/** With prefers-reduced-motion the globe does not spin by itself (it still follows the player). */
function stillWhenIdle(): boolean {
  return matchMedia("(prefers-reduced-motion: reduce)").matches;
}

/**
 * createRenderer draws dots() on canvas, turning to focus() (or spinning
 * slowly without one), every animation frame; after each frame it calls
 * onFrame with the frame's {@link View}.
 */
export function createRenderer(
  canvas: HTMLCanvasElement,
  createGlobe: typeof createGlobeFn,
  dots: () => Dot[],
  focus: () => [number, number] | null,
  onFrame: (v: View) => void = () => {},
): Globe {
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  canvas.dataset.renderer = "none";
  const forced = new URLSearchParams(location.search).get("renderer");
  if (forced !== "2d" && hasWebGL()) {
    try {
      let phi = 0, theta = 0.3;
      const ease = new Ease();
      // cobe draws by its width and height uniforms: they must be the drawing
      // buffer's size, which phenomenon sets to the canvas's CSS size × dpr
      // (a capped or different size draws the globe off centre, and the
      // labels miss their dots). The buffer follows the canvas's size.
      const g = createGlobe(canvas, {
        devicePixelRatio: dpr, width: Math.max(1, canvas.clientWidth * dpr), height: Math.max(1, canvas.clientHeight * dpr), phi, theta,
        // mapBaseBrightness must be set: cobe 0.6.5 passes undefined (NaN) to the
        // shader otherwise, and SwiftShader's max(x, NaN) turns the sphere black.
        dark: 1, diffuse: 1.2, mapSamples: 16000, mapBrightness: 6, mapBaseBrightness: 0,
        baseColor: [0.3, 0.3, 0.3], markerColor: [0.1, 0.8, 1], glowColor: [0.35, 0.45, 0.7],
        markers: [],
        // onRender runs after a frame is drawn and sets what the next one draws:
        // the view (and the dots' positions) of the frame on screen are the ones
        // set the time before, so onFrame gets them first.
        onRender: (st) => {
          onFrame(cobeView(phi, theta, canvas.clientWidth, canvas.clientHeight));
          const f = focus(), now = performance.now(), spin = ease.frames(now), k = ease.step(now);
          if (f) {
            const [p, t] = cobeAngles(f[0], f[1]);
            const tp = shortest(phi, p);
            phi += (tp - phi) * k;
            theta += (Math.max(-1.2, Math.min(1.2, t)) - theta) * k;
          } else if (!stillWhenIdle()) {
            phi += 0.005 * spin;
          }
          st.phi = phi;
          st.theta = theta;
          st.width = canvas.width;
          st.height = canvas.height;
          st.markers = cobeMarkers(dots(), f);
        },
      });
      const resized = new ResizeObserver(() => g.resize());
      resized.observe(canvas);
      canvas.dataset.renderer = "webgl";
      return { kind: "webgl", destroy: () => { resized.disconnect(); g.destroy(); } };
    } catch (e) {
      console.warn("WebGL globe failed, drawing in 2D:", e);
    }
  }
  return create2D(canvas, dots, focus, onFrame, () => Math.min(1200, Math.max(200, canvas.clientWidth || 600) * dpr));
}

/** SPHERE_DOTS are the 2D drawing's dots: every 6° of latitude, about every 6° of arc along each parallel. */
const SPHERE_DOTS: [number, number][] = (() => {
  const out: [number, number][] = [];
  for (let la = -84; la <= 84; la += 6) {
    const n = Math.max(1, Math.round(60 * Math.cos(la * RAD)));
    for (let i = 0; i < n; i++) out.push([la, -180 + (360 * i) / n]);
  }
  return out;
})();

function create2D(canvas: HTMLCanvasElement, dots: () => Dot[], focus: () => [number, number] | null, onFrame: (v: View) => void, size: () => number): Globe {
  const ctx = canvas.getContext("2d")!;
  let lat0 = 20, lng0 = 0, stop = false;
  const ease = new Ease();
  canvas.dataset.renderer = "2d";
  const frame = () => {
    if (stop) return;
    const s = size();
    if (canvas.width !== s) { canvas.width = s; canvas.height = s; }
    const f = focus(), now = performance.now(), spin = ease.frames(now), k = ease.step(now);
    if (f) {
      lat0 += (f[0] - lat0) * k;
      let d = f[1] - lng0;
      if (d > 180) d -= 360;
      if (d < -180) d += 360;
      lng0 += d * k;
    } else if (!stillWhenIdle()) {
      lng0 += 0.3 * spin;
    }
    const R = s * PLAIN_RADIUS, cx = s / 2, cy = s / 2;
    ctx.clearRect(0, 0, s, s);
    const grad = ctx.createRadialGradient(cx - R * 0.3, cy - R * 0.3, R * 0.1, cx, cy, R);
    grad.addColorStop(0, "#2b3a5c");
    grad.addColorStop(1, "#0c1222");
    ctx.fillStyle = grad;
    ctx.beginPath(); ctx.arc(cx, cy, R, 0, 2 * Math.PI); ctx.fill();
    ctx.strokeStyle = "#4a6aa855";
    ctx.stroke();
    const project = (lat: number, lng: number) => ortho(lat, lng, lat0, lng0, R, cx, cy);
    // A dotted sphere, like cobe's, brighter where it faces the viewer. The
    // dots stay a cool grey (never a player's colour: the browser tests tell
    // dots apart by colour).
    const dot = Math.max(1.5, R / 110);
    for (const [la, lo] of SPHERE_DOTS) {
      const p = project(la, lo);
      if (!p) continue;
      ctx.fillStyle = `rgb(170 185 210 / ${(0.2 + 0.5 * p[2]).toFixed(2)})`;
      ctx.fillRect(p[0] - dot / 2, p[1] - dot / 2, dot, dot);
    }
    const ds = dots();
    for (let i = ds.length - 1; i >= 0; i--) { // most important last, on top
      const d = ds[i]!;
      const p = project(d.lat, d.lng);
      if (!p) continue;
      ctx.fillStyle = `rgb(${d.color.map((x) => Math.round(x * 255)).join(",")})`;
      ctx.beginPath(); ctx.arc(p[0], p[1], plainDotRadius(d.size, R), 0, 2 * Math.PI); ctx.fill();
    }
    // The same frame in CSS pixels (the buffer is square, drawn over the canvas's box).
    const w = canvas.clientWidth || s, css = w / s, Rc = R * css, la = lat0, lo = lng0;
    onFrame({
      radius: Rc,
      project: (lat, lng) => ortho(lat, lng, la, lo, Rc, w / 2, w / 2),
      dotRadius: (size) => plainDotRadius(size, R) * css,
    });
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  return { kind: "2d", destroy: () => { stop = true; } };
}
