// Bundles src/main.ts and copies the static files into dist/, which the Go binary embeds.
import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;
for (const f of readdirSync(here + "dist", { withFileTypes: true })) {
  if (f.name !== ".keep") rmSync(here + "dist/" + f.name, { recursive: true, force: true });
}
mkdirSync(here + "dist", { recursive: true });
await build({
  entryPoints: [here + "src/main.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outfile: here + "dist/app.js",
  logLevel: "warning",
});
cpSync(here + "static", here + "dist", { recursive: true });
