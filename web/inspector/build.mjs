// Bundles src/main.ts and copies static/ into runtime/admin/dist, which package
// runtime/admin embeds (every app binary serves it at /_warren/).
import { buildApp } from "@warren/shared/build.mjs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
await buildApp(here, {}, fileURLToPath(new URL("../../runtime/admin/dist", import.meta.url)));
