// Bundles src/main.ts and copies static/ into dist/, which the Go binary embeds.
import { buildApp } from "@warren/shared/build.mjs";

await buildApp(new URL(".", import.meta.url).pathname);
