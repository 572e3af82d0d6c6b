#!/usr/bin/env bash
# Configures and builds the project into ./build (Release by default).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
jobs=${BUILD_JOBS:-$(nproc)}
[ "$jobs" -gt 2 ] && jobs=2
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@" >/dev/null
cmake --build build -j"$jobs"
