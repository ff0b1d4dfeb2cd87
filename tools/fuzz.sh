#!/bin/bash
# Runs libFuzzer targets for a while each, as TAP.
#
#   tools/fuzz.sh <seconds> <fuzz binaries...>
#
# Each binary runs for <seconds> over a scratch copy of its seed corpus
# t/fuzz/corpus/<name>/ (the seeds themselves are never written to).
# Prints "1..N", then "ok - <name>" or "not ok - <name>" per binary, with
# the run's figures and, on failure, the log tail as "#" comments.  A
# crashing input is kept under build/fuzz/crashes/<name>/.  Exits non-zero
# when any target crashed, leaked, timed out or could not run.
set -u

if [ $# -lt 2 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 <seconds> <fuzz binaries...>" >&2
    exit 2
fi

secs=$1
shift
repo=$(cd "$(dirname "$0")/.." && pwd)
failed=0
scratch=$(mktemp -d "${TMPDIR:-/tmp}/hubgate-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

echo "1..$#"

for bin in "$@"; do
    name=$(basename "$bin")
    work="$scratch/$name"
    mkdir -p "$work/corpus" "$work/artifacts"

    if [ -d "$repo/t/fuzz/corpus/$name" ]; then
        cp -R "$repo/t/fuzz/corpus/$name/." "$work/corpus/"
    fi

    if [ ! -x "$bin" ]; then
        echo "not ok - $name"
        echo "# $bin: not an executable (make fuzz-build)"
        failed=1
        continue
    fi

    # -timeout: a single input slower than this is a bug (a hang)
    "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        "$work/corpus" >"$work/log" 2>&1
    rc=$?

    execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$work/log")
    units=$(find "$work/corpus" -type f | wc -l)

    if [ $rc -eq 0 ]; then
        echo "ok - $name"
        echo "# $name: ${execs:-?} runs in ${secs}s, corpus $units inputs"
        continue
    fi

    failed=1
    echo "not ok - $name"
    echo "# $name: exit $rc after ${execs:-?} runs"
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$work/log" \
        | head -20 | sed 's/^/#   /'

    if [ -n "$(ls -A "$work/artifacts")" ]; then
        mkdir -p "$repo/build/fuzz/crashes/$name"
        cp "$work/artifacts/"* "$repo/build/fuzz/crashes/$name/"
        echo "#   inputs kept in build/fuzz/crashes/$name/"
    fi
done

exit $failed
