#!/usr/bin/env bash
# Fresh Debian 12 machine -> every test run: installs what is missing,
# builds, runs the whole ctest suite (unit and end-to-end); builds again
# with AddressSanitizer + UndefinedBehaviorSanitizer and runs the whole
# suite once more with leak detection on; then builds the libFuzzer
# targets and runs each for a short, bounded time. Exit status 0 only
# when all pass.  REDPACK_SKIP_SANITIZE=1 skips the second pass,
# REDPACK_SKIP_FUZZ=1 the third; REDPACK_FUZZ_SECONDS (20) sets the third.
# Both ctest passes run the end-to-end suite on both backends: e2e_* on
# SQLite and, since setup.sh installs PostgreSQL and libpq, e2e_pg_* on a
# throwaway PostgreSQL that ctest's fixture pg starts once per pass and
# stops at its end (docs/postgresql.md). On the 2-core machine, packages
# installed, the whole script took 10.5 minutes (each ctest pass about 4);
# e2e_pg adds about 2 minutes to each pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=$(nproc)
echo "== format (.clang-format)"
bash scripts/format.sh --check
echo "== build (RelWithDebInfo)"
bash scripts/build.sh build
echo "== ctest (unit, e2e on SQLite, e2e_pg on PostgreSQL, clients, docs)"
(cd build && ctest --output-on-failure -j"$jobs")

if [ "${REDPACK_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== build (ASan + UBSan)"
  bash scripts/build.sh build-asan -DREDPACK_SANITIZE=ON -DCMAKE_C_COMPILER=clang
  echo "== ctest under sanitizers"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd build-asan && ctest --output-on-failure -j"$jobs")
fi

if [ "${REDPACK_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== build (libFuzzer targets)"
  bash scripts/build.sh build-fuzz -DREDPACK_FUZZ=ON -DCMAKE_C_COMPILER=clang \
    -DREDPACK_FUZZ_SECONDS="${REDPACK_FUZZ_SECONDS:-20}"
  echo "== fuzz targets"
  (cd build-fuzz && ctest -L fuzz --output-on-failure -j"$jobs")
fi
