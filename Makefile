# Telltale. The two commands that matter: `make run` and `make test`.
# Both install what is missing first (scripts/install-deps.sh).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Steps of `make test` run in the order written, even under -j.
.NOTPARALLEL:

CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
HUB_BIN := $(TARGET_DIR)/debug/telltale-hub
APP_BIN := $(TARGET_DIR)/debug/telltale
VENV := $(CURDIR)/tests/sdk/.venv
ARTIFACTS := $(CURDIR)/artifacts
# The desktop app embeds ui/dist only with this feature; every cargo command
# passes it so the app is compiled once, not once per feature set.
APP_FEATURES := --features telltale/custom-protocol
RUN_LISTEN ?= 127.0.0.1:8000
RUN_API_KEY ?= dev-key
RUN_WS_ENV := $(if $(filter 127.0.0.1:8000,$(RUN_LISTEN)),,TELLTALE_URL=ws://$(RUN_LISTEN)/connection/websocket )
RUN_TAIL_FLAG := $(if $(filter 127.0.0.1:8000,$(RUN_LISTEN)),,--server ws://$(RUN_LISTEN)/connection/websocket )
BENCH_ARGS ?= --write docs/benchmarks.md
# Seconds per fuzz target: short inside `make test`, long for `make fuzz`.
FUZZ_SECONDS ?= 20
BENCH_BIN := $(TARGET_DIR)/debug/telltale-bench

TELLTALE_HUB_BIN ?= $(HUB_BIN)
export TELLTALE_HUB_BIN
export PATH := $(HOME)/.cargo/bin:$(PATH)

# A headline per step: `make test` stays readable.
step = @printf '\n==> %s\n' "$(1)"

.PHONY: help deps ui test run app deb agent-deb hub bench bench-servers soak fuzz fmt fmt-check lint types test-ui test-rust test-redis build test-deb test-js test-python test-soak test-fuzz test-e2e test-web bench-ui

help:
	@echo 'make run     build the UI and the desktop app, open it on the embedded hub (this machine'"'"'s metrics)'
	@echo 'make test    install what is missing, then fmt, clippy, UI, Rust (and again on Redis), .deb, SDK, soak, fuzz, end-to-end and browser tests'
	@echo 'make app     release build of the desktop app with the UI embedded: target/release/telltale'
	@echo 'make deb     Debian package of the desktop app (target/release/bundle/deb/)'
	@echo 'make agent-deb  Debian package of telltale-agent with its systemd unit (target/debian/)'
	@echo 'make hub     build the UI and start telltale-hub alone, with the host collector and the dashboard at http://$(RUN_LISTEN)/'
	@echo 'make bench   every benchmark, rewriting all of docs/benchmarks.md: bench-servers, then bench-ui'
	@echo 'make bench-servers  telltale-hub vs the Go gorilla hub and a Node ws server (release build): fan-out closed and open loop,'
	@echo '             msg/s vs subscribers and vs payload size (docs/bench-*.png), idle memory; 1 hub vs 2 hubs on Redis'
	@echo 'make bench-ui  desktop UI under Xvfb (release app): CPU, memory and frame times at idle, 500 sources, 200 series at 100 Hz; 100k points/s ingest and publish-to-drawn latency; alarm-to-notification latency; 10-minute memory soak (docs/benchmarks.md)'
	@echo 'make soak    5-minute soak of the release hub: 2,000 churning clients, publishers, a slow client, an attacker'
	@echo 'make fuzz    every cargo-fuzz target for 10 minutes (FUZZ_SECONDS=600)'
	@echo 'make deps    install missing Debian packages, npm and Python dependencies, tauri-driver'
	@echo 'make fmt     format the Rust code'
	@echo 'make lint    rustfmt check and clippy -D warnings'
	@echo 'make types   regenerate ui/src/backend/generated.ts from the Rust types that cross IPC'

deps:
	$(call step,deps (Debian packages; npm ci; tauri-driver; Python venv))
	@scripts/install-deps.sh

# The app embeds ui/dist at compile time, so the UI is built before cargo.
ui: deps
	$(call step,UI type-check and build (ui/dist))
	npm --prefix ui run --silent build

test: deps ui fmt-check lint test-ui test-rust test-redis build test-deb test-js test-python test-soak test-fuzz test-e2e test-web
	@printf '\n==> make test: all steps passed\n'

fmt:
	$(CARGO) fmt --all

# The UI's wire types come from the Rust definitions (ts-rs); `make test`
# runs the same test without the variable and fails while the file is stale.
# Not after `ui`: its type-check may fail until the new types are written.
# The app embeds ui/dist, so an unchecked build makes one when it is missing.
types: deps
	$(call step,regenerate ui/src/backend/generated.ts (cargo test --test ts_types))
	@[ -d ui/dist ] || (cd ui && npx vite build)
	TELLTALE_WRITE_TYPES=1 $(CARGO) test -p telltale $(APP_FEATURES) --test ts_types

fmt-check:
	$(call step,cargo fmt --all --check)
	$(CARGO) fmt --all --check

lint: fmt-check ui
	$(call step,cargo clippy --workspace --all-targets -- -D warnings)
	$(CARGO) clippy --workspace --all-targets $(APP_FEATURES) -- -D warnings

test-ui: ui
	$(call step,UI unit tests (vitest))
	npm --prefix ui test --silent

test-rust: ui
	$(call step,cargo test --workspace (includes notifications on a private D-Bus))
	$(CARGO) test --workspace $(APP_FEATURES)

# The hub's protocol and recovery tests again, every hub on a real Redis:
# scripts/with-redis.sh starts one redis-server on a free loopback port for
# the run and sets TELLTALE_TEST_REDIS, and support::Hub gives each hub its
# own key prefix on it. These modules test through what clients see
# (WebSocket, HTTP API, /metrics, a real Alertmanager's silences), so they
# hold for either broker; the redis_server module checks the Redis fixture
# and that the hubs are on it. Not run on Redis: tls (transport only), and
# tests that build a Node without a hub or run the binary (memory broker
# either way), and tests that read the memory broker's own state
# (node.sweep() stream counts, the history gauges).
REDIS_SUITE := alert_webhooks:: alertmanager_real:: auth:: bad_input:: delivery:: hostile:: \
  lifecycle:: permissions:: publish_key:: recovery:: redis_server:: rpc:: rules:: silent::
REDIS_SKIP := rules::for_waits_on_the_hubs_clock \
  rules::a_broken_rule_is_refused_at_start_naming_it \
  rules::sighup_swaps_the_rules_and_keeps_clients \
  hostile::state::reading_or_subscribing_to_unknown_channels_allocates_no_stream \
  hostile::state::expired_history_is_freed_and_idle_channels_forget_their_stream \
  hostile::state::the_sweeper_runs_by_itself
test-redis: deps
	$(call step,hub protocol and recovery tests on a real Redis (scripts/with-redis.sh; cargo test -p telltale-hub --test integration))
	scripts/with-redis.sh $(CARGO) test -p telltale-hub --test integration -- \
	  $(REDIS_SUITE) $(addprefix --skip ,$(REDIS_SKIP))

build: ui
	$(call step,cargo build (telltale-hub, telltale-tail, the desktop app))
	$(CARGO) build --workspace --bins $(APP_FEATURES)

# The .deb of the debug app that `build` made: `tauri bundle` only packages
# it (seconds, nothing is compiled; --no-binary-patching leaves cargo's
# binary as it is for the tests after this one), then tests/deb/check.sh
# reads its control fields, files and desktop entry, and runs the unpacked
# binary's --version.
DEBUG_DEB_DIR := $(TARGET_DIR)/debug/bundle/deb
test-deb: deps build
	$(call step,Debian package of the debug app (tauri bundle --debug; tests/deb/check.sh))
	rm -f $(DEBUG_DEB_DIR)/*.deb
	ui/node_modules/.bin/tauri bundle --debug --bundles deb --no-binary-patching --ci
	tests/deb/check.sh $(DEBUG_DEB_DIR)/*.deb

# cluster.test.mjs runs two hubs on a private redis-server and SIGKILLs one.
test-js: deps build
	$(call step,centrifuge-js SDK tests (node --test tests/sdk/js): one hub, then two nodes on Redis)
	cd tests/sdk/js && node --test --test-reporter=spec centrifuge.test.mjs cluster.test.mjs
	$(call step,the UI's web backend with centrifuge-js against the debug hub (npm run test:hub in ui/))
	npm --prefix ui run --silent test:hub

test-python: deps build
	$(call step,cent SDK tests (pytest tests/sdk/python))
	cd tests/sdk/python && PYTHONDONTWRITEBYTECODE=1 $(VENV)/bin/python -m pytest -q

# The soak for 30 s against the debug hub: churn, recovery, a slow client and
# an attacker; fails on any lost or duplicated alarm or RSS growth.
test-soak: build
	$(call step,soak: 2000 churning clients for 30 s against the hub (telltale-bench soak))
	timeout --kill-after=10 360 $(BENCH_BIN) soak --hub $(HUB_BIN) --duration 30s

# A short run of every fuzz target (scripts/fuzz.sh installs cargo-fuzz).
test-fuzz: deps
	$(call step,fuzz: every cargo-fuzz target for $(FUZZ_SECONDS) s)
	scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz: deps
	scripts/fuzz.sh $(if $(filter 20,$(FUZZ_SECONDS)),600,$(FUZZ_SECONDS))

soak: deps
	$(call step,cargo build --release -p telltale-hub -p telltale-bench)
	$(CARGO) build --release -p telltale-hub -p telltale-bench
	$(call step,telltale-bench soak for 5 minutes against the release hub)
	$(TARGET_DIR)/release/telltale-bench soak --hub $(TARGET_DIR)/release/telltale-hub --duration 5m --write docs/soak.md $(SOAK_ARGS)

# A real window under Xvfb, driven through tauri-driver + WebKitWebDriver,
# on its own session bus; the last screenshot lands in artifacts/e2e.png.
test-e2e: deps build
	$(call step,end-to-end: the app in a real window against a real hub (artifacts/e2e.png))
	TELLTALE_APP=$(APP_BIN) TELLTALE_ARTIFACTS=$(ARTIFACTS) \
	  timeout --kill-after=10 600 xvfb-run -a -s '-screen 0 1280x800x24' \
	  dbus-run-session -- node --experimental-websocket --no-warnings --test --test-concurrency=1 --test-reporter=spec tests/e2e/

# The dashboard in a browser: headless Chromium, driven through chromedriver, on the page
# the debug hub serves itself (--web), one hub per suite; screenshots at 1280×800 and
# 390×844 land in artifacts/web-1280.png and web-390.png.
test-web: deps build
	$(call step,the dashboard in headless Chromium on the page the hub serves (artifacts/web-1280.png, web-390.png))
	TELLTALE_ARTIFACTS=$(ARTIFACTS) timeout --kill-after=10 300 \
	  node --experimental-websocket --no-warnings --test --test-concurrency=1 --test-reporter=spec tests/web/

# The desktop UI benchmark: the real app under Xvfb, as test-e2e runs it, in release
# builds (the app as shipped; the hub it reads from too); figures only (no target fails
# it). BENCH_UI_ARGS='--only idle --seconds 20' for a quick run, '--only soak
# --soak-minutes 1' for a short soak.
BENCH_UI_ARGS ?=
bench-ui: deps ui
	$(call step,cargo build --release -p telltale -p telltale-hub (the app with the UI embedded))
	$(CARGO) build --release -p telltale -p telltale-hub $(APP_FEATURES)
	$(call step,desktop UI benchmark under Xvfb: idle / 500 sources / 200 series at 100 Hz / 100k points/s / alarm notes / 10-minute soak (about 30 minutes; docs/benchmarks.md "Desktop UI"))
	TELLTALE_APP=$(TARGET_DIR)/release/telltale TELLTALE_HUB_BIN=$(TARGET_DIR)/release/telltale-hub \
	  TELLTALE_BENCH_UI_COMMAND='make bench-ui$(if $(BENCH_UI_ARGS), BENCH_UI_ARGS="$(BENCH_UI_ARGS)")' \
	  timeout --kill-after=10 3600 xvfb-run -a -s '-screen 0 1280x800x24' \
	  dbus-run-session -- node --experimental-websocket --no-warnings tests/e2e/ui-bench.mjs --write docs/benchmarks.md $(BENCH_UI_ARGS)

run: ui
	$(call step,cargo build -p telltale (the desktop app, UI embedded))
	$(CARGO) build -p telltale $(APP_FEATURES)
	@if [ -z "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
	  echo 'make run opens a window and needs a graphical session (DISPLAY or WAYLAND_DISPLAY).'; \
	  echo 'Without one: `xvfb-run make run`, or `make hub` for the hub alone.'; exit 1; fi
	@echo
	@echo 'Telltale on the embedded default: a hub in this process with this machine'"'"'s live metrics.'
	@echo 'Connect to a remote hub instead with: $(APP_BIN) --server ws://HOST:PORT/connection/websocket [--token JWT]'
	@echo
	exec $(APP_BIN)

app: ui
	$(call step,cargo build --release -p telltale (UI embedded))
	$(CARGO) build --release -p telltale $(APP_FEATURES)
	@echo 'Built $(TARGET_DIR)/release/telltale'

# Packages the release app of `make app` (compiled once, with the same
# features as every other build); dependencies, icons and the desktop entry
# are in tauri.conf.json's bundle section.
deb: app
	$(call step,tauri bundle --bundles deb (the release app))
	rm -f $(TARGET_DIR)/release/bundle/deb/*.deb
	ui/node_modules/.bin/tauri bundle --bundles deb --ci
	@ls -1 $(TARGET_DIR)/release/bundle/deb/*.deb

# cargo-deb builds the agent in release mode and packages it with its
# systemd unit and example configuration (crates/agent/debian/).
agent-deb:
	$(call step,cargo deb -p telltale-agent)
	@command -v cargo-deb >/dev/null || $(CARGO) install cargo-deb --locked
	$(CARGO) deb -p telltale-agent
	@ls -1t $(TARGET_DIR)/debian/telltale-agent_*.deb | head -1

# --web serves ui/dist at /, so the UI is built first (the debug hub reads
# the files from there at run time).
hub: ui
	$(call step,cargo build -p telltale-hub -p telltale-client)
	$(CARGO) build -p telltale-hub -p telltale-client
	@echo
	@echo 'telltale-hub on http://$(RUN_LISTEN): host collector on, anonymous clients allowed (and may ack), API key $(RUN_API_KEY).'
	@echo
	@echo 'Dashboard: http://$(RUN_LISTEN)/'
	@echo
	@echo 'Watch it from another terminal:'
	@echo
	@echo '  # the desktop app'
	@echo '  $(APP_BIN) --server ws://$(RUN_LISTEN)/connection/websocket'
	@echo '  # live metrics and alarms through the real centrifuge-js client'
	@echo '  $(RUN_WS_ENV)node tests/sdk/js/watch.mjs'
	@echo '  # or through the Rust client'
	@echo "  $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),target)/debug/telltale-tail $(RUN_TAIL_FLAG)alarms metrics:$$(hostname)"
	@echo
	@echo '  # HTTP API (Centrifugo compatible)'
	@echo "  curl -s -H 'X-API-Key: $(RUN_API_KEY)' --json '{}' http://$(RUN_LISTEN)/api/info"
	@echo "  curl -s -H 'X-API-Key: $(RUN_API_KEY)' --json '{\"channel\":\"metrics:$$(hostname)\",\"limit\":1,\"reverse\":true}' http://$(RUN_LISTEN)/api/history"
	@echo "  curl -s -H 'X-API-Key: $(RUN_API_KEY)' --json '{\"channel\":\"news\",\"data\":{\"text\":\"hello\"}}' http://$(RUN_LISTEN)/api/publish"
	@echo
	@echo '  # operations'
	@echo '  curl -s http://$(RUN_LISTEN)/healthz'
	@echo '  curl -s http://$(RUN_LISTEN)/metrics'
	@echo
	@echo 'Stop with Ctrl-C.'
	@echo
	exec $(HUB_BIN) --listen $(RUN_LISTEN) --web --collector --allow-anonymous --anonymous-ack --api-key $(RUN_API_KEY)

# Every benchmark, one after the other (.NOTPARALLEL keeps the order), each
# rewriting only its own sections of docs/benchmarks.md: the servers'
# (telltale-bench, every scenario, the sweep's PNG plots beside the file),
# then the desktop UI's.
bench: bench-servers bench-ui
	@printf '\n==> make bench: every benchmark ran (bench-servers, bench-ui)\n'

bench-servers: deps
	$(call step,cargo build --release -p telltale-hub)
	$(CARGO) build --release -p telltale-hub
	$(call step,cargo run --release -p telltale-bench (telltale-hub vs the Go gorilla hub and a Node ws broadcast server: closed and open loop, msg/s vs subscribers and payload size, idle memory; 1 node in memory vs 2 nodes on Redis))
	$(CARGO) run --release -p telltale-bench -- $(if $(CARGO_TARGET_DIR),--hub $(CARGO_TARGET_DIR)/release/telltale-hub )$(BENCH_ARGS)
