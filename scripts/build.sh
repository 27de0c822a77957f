#!/usr/bin/env bash
# Configures and builds into DIR (default build/), passing extra CMake
# arguments through:  scripts/build.sh [DIR] [-DOPTION=...]...
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" -- --no-print-directory >/dev/null
