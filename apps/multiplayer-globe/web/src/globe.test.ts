// Unit tests of the page's pure parts (npm test): the projection the name
// labels are placed by, against cobe 0.6.5's own shader maths; cobe's marker
// list; headings; what the page does on each close code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cobeCentre, cobeMarkers, cobeView, ortho, COBE_RADIUS, Ease } from "./render.ts";
import { headingOf } from "./controls.ts";
import { adviceFor, Close } from "./protocol.ts";

const RAD = Math.PI / 180;

/**
 * shaderScreen is where cobe 0.6.5's fragment shader draws (lat, lng) for
 * camera angles (phi, theta) on a w × h canvas: its marker position
 * (cos φ cos λ, sin φ, -cos φ sin λ), brought to view space by the transpose
 * of its rotation J(theta, phi) (the shader computes world = view * J), on a
 * sphere of radius 0.8 in uv units of half the height, y up.
 */
function shaderScreen(lat: number, lng: number, phi: number, theta: number, w: number, h: number): [number, number, number] {
  const φ = lat * RAD, λ = lng * RAD;
  const world = [Math.cos(φ) * Math.cos(λ), Math.sin(φ), -Math.cos(φ) * Math.sin(λ)];
  const c = Math.cos(theta), e = Math.sin(theta), d = Math.cos(phi), f = Math.sin(phi);
  // The columns of GLSL's mat3(d, f*e, -f*c, 0, c, e, f, d*-e, d*c).
  const cols = [[d, f * e, -f * c], [0, c, e], [f, -d * e, d * c]];
  const view = [0, 1, 2].map((i) => world[0]! * cols[0]![i]! + world[1]! * cols[1]![i]! + world[2]! * cols[2]![i]!);
  const half = h / 2;
  return [w / 2 + COBE_RADIUS * view[0]! * half, h / 2 - COBE_RADIUS * view[1]! * half, view[2]!];
}

test("cobeView projects where cobe's shader draws", () => {
  for (const [phi, theta] of [[0, 0.3], [1.2, -0.5], [4, 1.1], [-2.5, 0]] as const) {
    const v = cobeView(phi, theta, 700, 500);
    for (const [lat, lng] of [[0, 0], [45, 100], [-30, -150], [10, 170], [60, -20]] as const) {
      const want = shaderScreen(lat, lng, phi, theta, 700, 500);
      const got = v.project(lat, lng);
      if (want[2] < 0) { assert.equal(got, null, `${lat},${lng} is on the far side`); continue; }
      assert.ok(got, `${lat},${lng} faces the viewer`);
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(got![i]! - want[i]!) < 1e-6, `${lat},${lng} at phi ${phi} theta ${theta}: ${got} vs ${want}`);
    }
  }
});

test("cobeCentre is the point cobe's camera angles look at", () => {
  for (const [lat, lng] of [[0, 0], [40, -75], [-33, 151], [10, 179]] as const) {
    const phi = Math.PI - (lng * RAD - Math.PI / 2), theta = lat * RAD; // cobe's README
    const [la, lo] = cobeCentre(phi, theta);
    assert.ok(Math.abs(la - lat) < 1e-9 && Math.abs(lo - lng) < 1e-9, `${la},${lo} vs ${lat},${lng}`);
  }
});

test("ortho: the centre, north up, east right, the far side hidden", () => {
  assert.deepEqual(ortho(20, 30, 20, 30, 100, 50, 50), [50, 50, 1]);
  const north = ortho(30, 30, 20, 30, 100, 50, 50)!, east = ortho(20, 40, 20, 30, 100, 50, 50)!;
  assert.ok(north[1] < 50 && Math.abs(north[0] - 50) < 1e-9);
  assert.ok(east[0] > 50);
  assert.equal(ortho(-20, -150, 20, 30, 100, 50, 50), null);
});

test("cobeMarkers pads with invisible markers and keeps your dot first within 64", () => {
  const dot = (lat: number, lng: number) => ({ lat, lng, size: 0.1, color: [1, 1, 1] as [number, number, number] });
  const few = cobeMarkers([dot(1, 2), dot(3, 4)], null);
  assert.equal(few.length, 4);
  assert.deepEqual(few.slice(2).map((m) => m.size), [0, 0]);
  const many = [dot(-80, 170), ...Array.from({ length: 100 }, (_, i) => dot(0, i * 3.6 - 180))];
  const picked = cobeMarkers(many, [0, 0]);
  assert.equal(picked.length, 128);
  assert.deepEqual(picked[0]!.location, [-80, 170], "your dot is kept wherever it is");
  assert.ok(picked.slice(1, 64).every((m) => Math.abs(m.location[1]) <= 120), "then the dots nearest the focus");
});

test("headingOf: screen directions to compass headings", () => {
  assert.equal(headingOf(0, 1), 0);
  assert.equal(headingOf(1, 0), 90);
  assert.equal(headingOf(0, -1), 180);
  assert.equal(headingOf(-1, 0), 270);
  assert.equal(headingOf(1, 1), 45);
});

test("a close a retry cannot change stops the page; the others reconnect", () => {
  for (const code of [Close.Replaced, Close.TooManyFromAddress, Close.BadRequest]) {
    const a = adviceFor(code);
    assert.equal(a.reconnect, false, String(code));
    assert.ok(a.message, `${code} is explained`);
  }
  for (const code of [1000, 1006, Close.Restart, Close.TryAgainLater, Close.RateLimited]) assert.equal(adviceFor(code).reconnect, true, String(code));
});

test("the camera eases by time: a slow frame goes further, 60 fps goes 12 % a frame", () => {
  const e = new Ease();
  assert.equal(e.step(1000), 1, "the first frame looks at the focus at once");
  assert.ok(Math.abs(e.step(1000 + 1000 / 60) - 0.12) < 1e-9);
  const slow = e.step(1000 + 1000 / 60 + 2000);
  assert.ok(slow > 0.999, `a frame 2 s late goes (almost) all the way: ${slow}`);
});
