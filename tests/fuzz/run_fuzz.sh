#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time on a scratch copy of its
# seed corpus (the repository's corpus is never written). A crash, leak
# or timeout is kept under ./crashes and fails the run.
#   run_fuzz.sh BINARY SECONDS SEED_CORPUS DICT
set -uo pipefail
bin=$1 seconds=$2 seeds=$3 dict=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" crashes
cp -r "$seeds"/. "$work/corpus/" 2>/dev/null
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -dict="$dict" -artifact_prefix=crashes/ -print_final_stats=1 "$work/corpus" >"$work/log" 2>&1
status=$?
grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|==[0-9]+==ERROR)' "$work/log"
if [ $status -ne 0 ]; then
  tail -n 60 "$work/log"
  echo "fuzz: $(basename "$bin") failed (exit $status); inputs in $(pwd)/crashes" >&2
  exit 1
fi
