#!/usr/bin/env bash
# Fuzzes the hub's input handling: every cargo-fuzz target in fuzz/ for
# SECONDS_PER_TARGET seconds each (default 60), one after the other, one
# process each.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# Each run starts from a fresh copy of fuzz/seeds/<target>/ (nothing left
# over from an earlier run counts); only the build directory fuzz/target is
# reused. Prints one summary line per target and exits non-zero if any
# target crashed, leaked past 2 GB, hung on one input for 10 s or did not
# finish in time, naming the input that did it (kept in fuzz/artifacts/).
#
# Stable Rust is enough: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags,
# and --sanitizer none needs no nightly-only sanitizer runtime.
set -euo pipefail

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]  (a positive whole number, default 60)" >&2
    exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    timeout 1800 cargo install cargo-fuzz --locked
fi

targets=(command_frame api_body jwt_claims alarm_payload)
work=$(mktemp -d "${TMPDIR:-/tmp}/telltale-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "==> building the fuzz targets (fuzz/target)"
started=$SECONDS
timeout 3600 cargo fuzz build --sanitizer none 2>&1 | tail -n 3 ||
    { echo "fuzz: building the targets failed" >&2; exit 1; }
echo "built in $((SECONDS - started))s"

# The value of libFuzzer's `stat::NAME:` line (-print_final_stats=1).
final_stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -n 1; }

failed=()
summary=()
for target in "${targets[@]}"; do
    corpus="$work/$target"
    mkdir -p "$corpus"
    cp "fuzz/seeds/$target"/* "$corpus/"
    log="$work/$target.log"
    echo "==> fuzzing $target for ${seconds}s"
    status=0
    started=$SECONDS
    timeout --kill-after=10 $((seconds + 120)) \
        cargo fuzz run --sanitizer none "$target" "$corpus" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    runs=$(final_stat "$log" number_of_executed_units)
    rate=$(final_stat "$log" average_exec_per_sec)
    rss=$(final_stat "$log" peak_rss_mb)
    inputs=$(find "$corpus" -type f | wc -l)
    line="$target: ${runs:-?} executions in $((SECONDS - started))s (${rate:-?} exec/s), corpus ${inputs} inputs, peak RSS ${rss:-?} MB"
    if [[ $status -eq 0 ]]; then
        summary+=("$line, no crash")
        continue
    fi
    tail -n 40 "$log" >&2
    input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [[ $status -eq 124 || $status -eq 137 ]]; then
        why="did not finish within $((seconds + 120))s"
    elif [[ -n $input ]]; then
        kind=${input##*/}
        why="${kind%%-*} on $input (reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none $target $input)"
    else
        why="failed with status $status (log above)"
    fi
    summary+=("$line, FAILED: $why")
    failed+=("$target")
done

echo
echo "==> fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: ${failed[*]} failed" >&2
    exit 1
fi
