// Bundles src/main.ts and copies static/ into dist/, which the Go binary embeds;
// first checks the golden y-websocket frames against y-protocols (check-yframes.mjs).
import { buildApp } from "@warren/shared/build.mjs";
import { checkYFrames } from "./check-yframes.mjs";

const dir = new URL(".", import.meta.url).pathname;
checkYFrames(new URL("../testdata/yframes.json", import.meta.url).pathname);
await buildApp(dir);
