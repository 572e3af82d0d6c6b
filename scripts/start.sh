#!/usr/bin/env bash
# Installs what is missing, builds the broker (no test programs), and runs one broker on
# 127.0.0.1:9092 with data under ./data.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/deps.sh
BUILD_TARGETS=broker bash scripts/build.sh
mkdir -p data
exec build/bin/broker --config config/server.properties --override log.dirs="$here/data" "$@"
