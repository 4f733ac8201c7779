#!/usr/bin/env bash
# Usage: scripts/with-redis.sh COMMAND [ARG...]
#
# Runs COMMAND with a private redis-server on a free 127.0.0.1 port and its
# URL in TELLTALE_TEST_REDIS (the hub's integration tests then put every hub
# on it), and kills that server when COMMAND ends, however it ends. The
# server keeps nothing: no RDB, no AOF, its directory is a temporary one.
# Exits with COMMAND's status.
set -euo pipefail

die() { printf 'with-redis: %s\n' "$*" >&2; exit 2; }

[ $# -gt 0 ] || die "usage: $0 COMMAND [ARG...]"
REDIS_SERVER=/usr/bin/redis-server
[ -x "$REDIS_SERVER" ] || die "$REDIS_SERVER is missing: run scripts/install-deps.sh"
command -v python3 >/dev/null || die "python3 is missing: run scripts/install-deps.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/telltale-redis.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
# Interrupted or terminated: exit, which runs the cleanup above.
trap 'exit 130' INT
trap 'exit 143' TERM HUP

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# True once redis on $1 answers an inline PING with +PONG (in a subshell:
# its connection and its "connection refused" stay there).
answers_ping() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 1 reply <&3 || exit 1
    [ "$reply" = $'+PONG\r' ]
  ) 2>/dev/null
}

# The free port may be taken by someone else before redis-server binds it:
# then redis-server exits and another port is tried (5 ports, each waited on
# for at most 10 s).
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$dir" >"$dir/redis.log" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 100); do
    answers_ping "$port" && break 2
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    cat "$dir/redis.log" >&2
    die "redis-server on port $port did not answer PING within 10 s"
  fi
  wait "$pid" 2>/dev/null || true
  pid=
  printf 'with-redis: redis-server exited on port %s (attempt %s):\n' "$port" "$attempt" >&2
  tail -n 3 "$dir/redis.log" >&2
done
[ -n "$pid" ] || die "redis-server did not start on any of 5 free ports"

export TELLTALE_TEST_REDIS="redis://127.0.0.1:$port"
printf 'with-redis: redis-server %s on %s\n' "$pid" "$TELLTALE_TEST_REDIS"
status=0
"$@" || status=$?
exit "$status"
