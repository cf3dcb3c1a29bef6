// The front-end build every app shares: it bundles <dir>/src/main.ts into
// <dir>/dist/app.js (minified, with a source map; the CSS it imports, such as
// @warren/shared/design.css, into dist/app.css), the theme boot script into
// dist/theme.js (a classic script for <head>: the stored light/dark choice is
// applied before the first paint), and copies <dir>/static into <dir>/dist,
// which the app's Go binary embeds. Everything in dist but the committed .keep
// file is replaced. Extra esbuild options (e.g. loaders) may be passed, and another
// output folder than <dir>/dist (the inspector's lives in the Go module).
// Before bundling, an app's golden wire frames (<dir>/../testdata/frames.json) are
// type-checked against <dir>/src/protocol.ts (frames.mjs); a frame that does not fit
// fails the build.
import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkFramesIfAny } from "./frames.mjs";

export async function buildApp(dir, options = {}, dist = join(dir, "dist")) {
  checkFramesIfAny(dir); // ../testdata/frames.json against src/protocol.ts (frames.mjs)
  mkdirSync(dist, { recursive: true });
  for (const f of readdirSync(dist)) {
    if (f !== ".keep") rmSync(join(dist, f), { recursive: true, force: true });
  }
  await Promise.all([
    build({
      entryPoints: [join(dir, "src/main.ts")],
      bundle: true,
      format: "esm",
      target: "es2022",
      minify: true,
      sourcemap: true,
      outfile: join(dist, "app.js"),
      logLevel: "warning",
      ...options,
    }),
    build({
      entryPoints: [fileURLToPath(new URL("./src/theme-boot.ts", import.meta.url))],
      bundle: true,
      format: "iife",
      target: "es2022",
      minify: true,
      outfile: join(dist, "theme.js"),
      logLevel: "warning",
    }),
  ]);
  cpSync(join(dir, "static"), dist, { recursive: true });
}
