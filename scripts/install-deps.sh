#!/usr/bin/env bash
# Installs what building and testing Telltale needs, and only what is missing:
#   - Debian packages (apt-get, non-interactive) for the build and the SDK tests;
#   - the npm packages of tests/sdk/js and bench/node-ws-broadcast (npm ci);
#   - a Python venv at tests/sdk/.venv with tests/sdk/python/requirements.txt.
# Safe to run again: when everything is there it only checks, in about a second.
# Works as root without a terminal (CI); as another user it uses sudo for apt-get.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PY_REQS=$ROOT/tests/sdk/python/requirements.txt
VENV=$ROOT/tests/sdk/.venv

say() { printf '  %s\n' "$*"; }
die() { printf 'install-deps: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
installed() { dpkg -s "$1" >/dev/null 2>&1; }

# --- Debian packages ---------------------------------------------------------
# A C toolchain and pkg-config for crates that build C code, curl for
# `make run`'s examples, certificates for the registries; the libraries the
# desktop app (the root package, built by `cargo clippy/test --workspace`)
# links against; dbus-daemon for its notification test on a private bus;
# Xvfb, xauth and WebKitWebDriver for the end-to-end test in a real window,
# xdotool and x11-utils (xwininfo) to see its windows hide and show;
# chromium and chromium-driver (chromedriver) for the browser test of the page
# the hub serves (tests/web, headless);
# the Nagios plugins (check_load, check_disk, check_dummy, ...) that the
# agent's checks are tested with; desktop-file-validate for the .deb's
# desktop entry (tests/deb/check.sh); Debian's python3-dbus and python3-gi
# for the fake notification daemon of the end-to-end test (tests/e2e/notify-server.py);
# prometheus-alertmanager for the hub's webhook test against a real Alertmanager,
# prometheus for the Prometheus → Alertmanager → hub → desktop test, and
# prometheus-node-exporter for the agent's [[scrape]] test (each test starts its
# own on a free loopback port, never the packaged service); redis-server for the
# hub's Redis broker tests and `make test-redis` (they start their own, without
# persistence, on a free loopback port; the package's own service, if the
# install starts one, is never used); golang-go and golang-github-gorilla-websocket-dev
# for the benchmark's Go peer (bench/gorilla-hub, the classic gorilla/websocket
# chat hub, built by telltale-bench in GOPATH mode; its smoke test needs it too);
# fonts-dejavu-core for the text of the benchmark's plots (telltale-bench reads
# DejaVuSans.ttf itself when it draws them, no fontconfig).
packages=(
  build-essential pkg-config ca-certificates curl
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libdbus-1-dev
  dbus-daemon xvfb xauth webkit2gtk-driver xdotool x11-utils
  chromium chromium-driver
  monitoring-plugins-basic
  desktop-file-utils
  python3-dbus python3-gi
  prometheus-alertmanager prometheus prometheus-node-exporter
  redis-server
  golang-go golang-github-gorilla-websocket-dev
  fonts-dejavu-core
)
missing=()
for pkg in "${packages[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
# Node.js (>= 18, for node:test) and npm: Debian's unless one is already there.
node_major=0
if have node; then
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
fi
if [ "$node_major" -lt 18 ]; then
  installed nodejs || missing+=(nodejs)
fi
have npm || installed npm || missing+=(npm)
# Python 3 with venv and ensurepip.
if ! have python3 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  installed python3 || missing+=(python3)
  installed python3-venv || missing+=(python3-venv)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  have apt-get || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    have sudo || die "missing packages (${missing[*]}): run as root or install sudo"
    SUDO=(sudo)
  fi
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq </dev/null
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
else
  say "Debian packages: all present"
fi

# --- Rust ----------------------------------------------------------------------
# The toolchain comes from rustup (Debian's cargo is too old for this workspace).
have cargo || die "cargo not found: install Rust with rustup (https://rustup.rs), then run this again"
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    have rustup || die "cargo $component missing and no rustup to add it"
    say "rustup component add $component"
    rustup component add "$component"
  fi
done
say "Rust: $(cargo --version)"

# --- npm packages: centrifuge-js tests, the benchmark's Node ws peer ------------------
# A stamp with the lock file's hash skips `npm ci` when node_modules is current.
for dir in ui tests/sdk/js bench/node-ws-broadcast; do
  [ -f "$ROOT/$dir/package-lock.json" ] || continue
  lock_hash=$(sha256sum "$ROOT/$dir/package-lock.json" | cut -d' ' -f1)
  stamp=$ROOT/$dir/node_modules/.telltale-deps
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
    say "npm packages ($dir): up to date"
  else
    say "npm ci ($dir)"
    (cd "$ROOT/$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error </dev/null)
    echo "$lock_hash" >"$stamp"
  fi
done

# --- tauri-driver: the WebDriver server the end-to-end test talks to -----------
# Built from crates.io (about a minute); it drives WebKitWebDriver.
if have tauri-driver || [ -x "$HOME/.cargo/bin/tauri-driver" ]; then
  say "tauri-driver: present"
else
  say "cargo install tauri-driver --locked"
  cargo install tauri-driver --locked --quiet </dev/null
fi

# --- Python venv for the cent tests ------------------------------------------------
reqs_hash=$(sha256sum "$PY_REQS" | cut -d' ' -f1)
stamp=$VENV/.telltale-deps
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$reqs_hash" ] && "$VENV/bin/python" -c 'import cent, pytest' >/dev/null 2>&1; then
  say "Python venv (tests/sdk/.venv): up to date"
else
  if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    say "python3 -m venv tests/sdk/.venv"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
  fi
  say "pip install -r tests/sdk/python/requirements.txt"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$PY_REQS" </dev/null
  echo "$reqs_hash" >"$stamp"
fi
