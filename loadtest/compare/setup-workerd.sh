#!/usr/bin/env bash
# setup-workerd.sh DIR TEMPLATE: prepares DIR for `make compare WORKERD_DIR=DIR`:
# installs workerd (npm), the template's partyserver version and esbuild there,
# and bundles the durable-chat-template's server (TEMPLATE is its folder, from
# https://github.com/cloudflare/templates, fetched by you) into DIR/worker.js.
set -euo pipefail
dir=${1:?usage: setup-workerd.sh DIR TEMPLATE_DIR}
template=${2:?usage: setup-workerd.sh DIR TEMPLATE_DIR (the durable-chat-template folder)}
[ -f "$template/src/server/index.ts" ] || { echo "$template: no src/server/index.ts (not the durable-chat-template?)" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
party=$(node -p "require('$(cd "$template" && pwd)/package.json').dependencies.partyserver")
[ -f "$dir/package.json" ] || echo '{"private": true}' > "$dir/package.json"
npm i --prefix "$dir" --no-audit --no-fund --loglevel=error workerd "partyserver@$party" esbuild
NODE_PATH="$dir/node_modules" "$dir/node_modules/.bin/esbuild" "$template/src/server/index.ts" \
  --bundle --format=esm --platform=browser --conditions=workerd,worker --external:'cloudflare:*' \
  --outfile="$dir/worker.js" --log-level=warning
echo "ready: make compare WORKERD_DIR=$dir"
