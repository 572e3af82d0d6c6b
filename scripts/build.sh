#!/usr/bin/env bash
# Configures and builds the project into ./build (Release by default).
#   BUILD_TYPE=Debug       build type (default Release)
#   BUILD_DIR=build-asan   build tree (default build)
#   BUILD_TARGETS="a b"    build only these targets (default: all)
# Extra arguments go to the CMake configure step (e.g. -DBROKER_SANITIZE=ON).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
jobs=${BUILD_JOBS:-$(nproc)}
[ "$jobs" -gt 2 ] && jobs=2
dir=${BUILD_DIR:-build}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@" >/dev/null
if [ -n "${BUILD_TARGETS:-}" ]; then
    # shellcheck disable=SC2086  # a space-separated list of target names
    cmake --build "$dir" -j"$jobs" --target ${BUILD_TARGETS}
else
    cmake --build "$dir" -j"$jobs"
fi
