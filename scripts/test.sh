#!/usr/bin/env bash
# Installs what is missing (test clients included), builds, and runs every test.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/deps.sh --test
bash scripts/build.sh
cd build
ctest --output-on-failure -j2 --timeout 900
