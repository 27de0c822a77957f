#!/usr/bin/env bash
# Long fuzzing runs: builds the libFuzzer targets (clang, ASan, UBSan)
# into build-fuzz and runs one for SECONDS on its seed corpus.
#   scripts/fuzz.sh TARGET SECONDS      TARGET: sendgroupredpack | fixtures | admin
# Findings land in build-fuzz/tests/fuzz/crashes; turn each into a
# regression input under tests/fuzz/corpus/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 2 ] || [ "$1" = --help ]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -eq 2 ] && exit 0 || exit 2
fi
target=$1 seconds=$2
[ -d "tests/fuzz/corpus/$target" ] || { echo "fuzz.sh: no target \"$target\"" >&2; exit 2; }
bash scripts/setup.sh
bash scripts/build.sh build-fuzz -DREDPACK_FUZZ=ON -DCMAKE_C_COMPILER=clang
cd build-fuzz/tests/fuzz
exec bash ../../../tests/fuzz/run_fuzz.sh "./fuzz_$target" "$seconds" \
  "../../../tests/fuzz/corpus/$target" ../../../tests/fuzz/fields.dict
