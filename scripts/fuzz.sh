#!/usr/bin/env bash
# Coverage-guided fuzzing: rerun every cargo-fuzz target in fuzz/ for
# SECONDS each (default 60), starting from the committed corpora, and print
# how many executions each ran. Exits non-zero on a crash, hang or OOM
# (libFuzzer saves the input under fuzz/artifacts/<target>/).
#
# Needs the nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz --locked
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default: every target)
# New interesting inputs go to fuzz/corpus-new/<target>/ (not committed);
# fold them into the committed corpus with `cargo fuzz cmin` (fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
# The library forbids unsafe code, so no sanitizer: several times more
# executions per second. Debug assertions (overflow checks) stay on.
flags=(-s none -O)
# sysfs_attrs and sysfs_tree write files on every run: a tmpfs is far faster.
if [ -z "${TMPDIR:-}" ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
cargo +nightly fuzz build "${flags[@]}"
if [ "$#" -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi

status=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/corpus-new/$t" "fuzz/artifacts/$t"
    log="fuzz/artifacts/$t/last-run.log"
    echo "== $t: ${secs}s"
    if cargo +nightly fuzz run "${flags[@]}" "$t" "fuzz/corpus-new/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=512 -timeout=5 -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see $log and fuzz/artifacts/$t/)"
        status=1
        tail -n 40 "$log" >&2
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    summary+=("$(printf '%-16s %12s executions  %s' "$t" "${execs:-?}" "$result")")
done
echo "== summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"
exit "$status"
