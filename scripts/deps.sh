#!/usr/bin/env bash
# Installs whatever the project needs and the machine lacks (Debian 12, run as root).
#   scripts/deps.sh          build + run dependencies
#   scripts/deps.sh --test   also the stock clients the tests drive (kcat, librdkafka, Python, kafkajs)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

pkgs=(build-essential cmake pkg-config ccache libboost-dev nlohmann-json3-dev libzookeeper-mt-dev
      zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libgtest-dev)
if [ "${1:-}" = "--test" ]; then
    pkgs+=(librdkafka-dev kcat python3 python3-kafka python3-confluent-kafka nodejs zookeeper
           libclang-rt-14-dev clang-14)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from another source than Debian's package: accept any node on PATH.
if command -v node >/dev/null 2>&1; then
    tmp=(); for p in "${missing[@]}"; do [ "$p" = nodejs ] || tmp+=("$p"); done; missing=("${tmp[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v npm >/dev/null 2>&1 && [ "${1:-}" = "--test" ]; then
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
    # kafkajs goes into a folder the project ignores.
    node_dir="$here/.deps/node"
    if [ ! -d "$node_dir/node_modules/kafkajs" ]; then
        mkdir -p "$node_dir"
        (cd "$node_dir" && [ -f package.json ] || echo '{"name":"compat-clients","private":true}' > package.json)
        (cd "$node_dir" && npm install --no-audit --no-fund --silent kafkajs@2.2.4 >/dev/null)
    fi
fi
