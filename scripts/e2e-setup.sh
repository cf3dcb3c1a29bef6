#!/usr/bin/env bash
# Offline browser setup for the browser tests (browsertest, its own module):
# Debian's chromium plus npm's playwright-core as the playwright-go driver, run by the system node.
# Nothing is downloaded by playwright-go itself.
#
# Usage: eval "$(scripts/e2e-setup.sh)"
# Stdout carries only `export ...` lines; progress and errors go to stderr.
# Installs chromium with apt when missing (needs root), and playwright-core at exactly the
# version the pinned playwright-go expects into a cache dir outside the repo:
#   ${PW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/warren-playwright}/<version>
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

PWGO_MOD="github.com/mxschmitt/playwright-go"
log() { echo "e2e-setup: $*" >&2; }
die() { log "$*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go not found on PATH"

# The driver version must equal playwrightCliVersion inside the playwright-go that browsertest/go.mod pins.
PWGO_DIR="$(cd browsertest && GOWORK=off go mod download -json "$PWGO_MOD" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[ -n "$PWGO_DIR" ] && [ -f "$PWGO_DIR/run.go" ] || die "cannot locate $PWGO_MOD source (is it required in browsertest/go.mod?)"
PW_VERSION="$(sed -n 's/.*playwrightCliVersion *= *"\([0-9.]*\)".*/\1/p' "$PWGO_DIR/run.go")"
[ -n "$PW_VERSION" ] || die "cannot read playwrightCliVersion from $PWGO_DIR/run.go"

# Chromium from Debian.
CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$CHROMIUM" ]; then
  command -v apt-get >/dev/null 2>&1 || die "chromium is missing and apt-get is not available; install Chromium and put it on PATH"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "installing chromium with apt (about a minute)"
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium) >&2 \
    || die "apt-get install chromium failed"
  CHROMIUM="$(command -v chromium)" || die "chromium still not on PATH after install"
fi

# Node.js runs the driver.
NODE="$(command -v node || true)"
[ -n "$NODE" ] || die "node not found on PATH (install Node.js >= 20)"
command -v npm >/dev/null 2>&1 || die "npm not found on PATH"

# playwright-core@PW_VERSION, laid out as playwright-go expects: <driver>/package/cli.js.
BASE="${PW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/warren-playwright}"
CACHE="$BASE/$PW_VERSION"
if [ "$("$NODE" "$CACHE/driver/package/cli.js" --version 2>/dev/null)" != "Version $PW_VERSION" ]; then
  log "installing playwright-core@$PW_VERSION into $CACHE"
  mkdir -p "$BASE"
  TMP="$(mktemp -d "$BASE/.tmp.XXXXXX")"
  trap 'rm -rf "$TMP"' EXIT
  mkdir -p "$TMP/driver"
  npm install --prefix "$TMP" --no-save --no-audit --no-fund --loglevel=error "playwright-core@$PW_VERSION" >&2 \
    || die "npm install playwright-core@$PW_VERSION failed"
  ln -sfn ../node_modules/playwright-core "$TMP/driver/package"
  rm -rf "$CACHE"
  mv -T "$TMP" "$CACHE" 2>/dev/null || [ -d "$CACHE" ] || die "cannot move driver into $CACHE"
  trap - EXIT
fi
ln -sfn "$NODE" "$CACHE/driver/node" # used when PLAYWRIGHT_NODEJS_PATH is unset
[ "$("$NODE" "$CACHE/driver/package/cli.js" --version 2>/dev/null)" = "Version $PW_VERSION" ] \
  || die "driver in $CACHE does not report version $PW_VERSION"

printf "export PLAYWRIGHT_DRIVER_PATH=%q\n" "$CACHE/driver"
printf "export PLAYWRIGHT_NODEJS_PATH=%q\n" "$NODE"
printf "export CHROMIUM_PATH=%q\n" "$CHROMIUM"
