#!/usr/bin/env bash
# Runs a local cluster on loopback: one ZooKeeper (Debian's package zookeeper) and N brokers
# (default 3), each with its own Kafka port, admin HTTP port and log.dirs, for trying the cluster
# by hand.
#   scripts/cluster.sh start [N]   start ZooKeeper and the brokers (building build/bin/broker first
#                                  if it is missing), wait until every broker's GET /v1/brokers
#                                  lists N brokers and a controller, print the bootstrap list and
#                                  the HTTP endpoints; whatever already runs is left running, and
#                                  a stopped cluster starts again on its ports and data
#   scripts/cluster.sh stop        stop the brokers (SIGTERM, SIGKILL after CLUSTER_STOP_TIMEOUT
#                                  seconds, default 30), then ZooKeeper, by their recorded PIDs;
#                                  the data stays
#   scripts/cluster.sh status      which processes are alive, and each live broker's /v1/brokers
#                                  (exit status 0 when all are alive, 1 otherwise)
#   scripts/cluster.sh clean       stop, then delete the state directory
# Environment: CLUSTER_DIR (state directory, default ./cluster-data), BROKER_BIN (default
# build/bin/broker), CLUSTER_OVERRIDES ("key=value key=value", extra broker settings),
# CLUSTER_START_TIMEOUT (seconds, default 90). No command reads standard input.
# The state directory holds cluster.env (N, ports, chroot), zoo.cfg, zookeeper/, broker-<id>/
# (log.dirs), the processes' output (*.out) and their PIDs (pids/); it ignores itself for git.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
util="/usr/bin/python3 $here/scripts/reference_kafka_util.py"
zk_server=/usr/share/zookeeper/bin/zkServer.sh
dir=${CLUSTER_DIR:-./cluster-data}
broker_bin=${BROKER_BIN:-$here/build/bin/broker}
stop_timeout=${CLUSTER_STOP_TIMEOUT:-30}
start_timeout=${CLUSTER_START_TIMEOUT:-90}

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }

# ours PID PATTERN: PID is alive (not a zombie) and its command line mentions PATTERN, so a PID
# reused by another process after ours ended is never signalled.
ours() {
    local pid=$1 pattern=$2
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern"
}

pid_of() { cat "$dir/pids/$1" 2>/dev/null || true; }
zk_pattern() { echo "$dir/zoo.cfg"; }
broker_pattern() { echo "log.dirs=$dir/broker-$1/data"; }

load_env() {
    # shellcheck disable=SC1091
    [ -f "$dir/cluster.env" ] && . "$dir/cluster.env"
    return 0
}

# stop_pids NAME:PID:PATTERN...: SIGTERM to each of ours, wait for all (bounded), then SIGKILL.
stop_pids() {
    local item name pid pattern left i
    local -a live=()
    for item in "$@"; do
        IFS=: read -r name pid pattern <<< "$item"
        if ours "$pid" "$pattern"; then
            kill -TERM "$pid" 2>/dev/null || true
            live+=("$item")
        fi
    done
    [ ${#live[@]} -gt 0 ] || return 0
    for ((i = 0; i < stop_timeout * 10; i++)); do
        left=0
        for item in "${live[@]}"; do
            IFS=: read -r name pid pattern <<< "$item"
            ours "$pid" "$pattern" && left=1
        done
        [ "$left" = 0 ] && break
        sleep 0.1
    done
    for item in "${live[@]}"; do
        IFS=: read -r name pid pattern <<< "$item"
        if ours "$pid" "$pattern"; then
            echo "cluster: $name ($pid) did not stop within ${stop_timeout}s; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        else
            echo "cluster: stopped $name ($pid)"
        fi
    done
}

start() {
    local n=${1:-} i port
    [ -x "$zk_server" ] || { echo "cluster: needs Debian's zookeeper package ($zk_server)" >&2; exit 2; }
    mkdir -p "$dir/pids"
    dir=$(cd "$dir" && pwd)
    echo '*' > "$dir/.gitignore"
    load_env
    if [ -n "${N:-}" ]; then
        if [ -n "$n" ] && [ "$n" != "$N" ]; then
            echo "cluster: $dir holds a cluster of $N brokers (scripts/cluster.sh clean, then start $n)" >&2
            exit 1
        fi
    else
        N=${n:-3}
        [[ "$N" =~ ^[1-9][0-9]*$ ]] || { echo "cluster: N must be a positive number, not '$N'" >&2; exit 2; }
        # Ports picked once and kept, so a stopped cluster comes back where it was.
        {
            echo "N=$N"
            echo "CHROOT=/sluice"
            echo "ZK_PORT=$($util free-port)"
            for ((i = 1; i <= N; i++)); do
                echo "BROKER_PORT_$i=$($util free-port)"
                echo "HTTP_PORT_$i=$($util free-port)"
            done
        } > "$dir/cluster.env.tmp"
        mv "$dir/cluster.env.tmp" "$dir/cluster.env"
        load_env
    fi
    if [ ! -x "$broker_bin" ]; then
        echo "cluster: building the broker ($broker_bin is missing)"
        BUILD_TARGETS=broker bash "$here/scripts/build.sh"
    fi

    if ours "$(pid_of zookeeper)" "$(zk_pattern)"; then
        echo "cluster: ZooKeeper runs (pid $(pid_of zookeeper))"
    else
        mkdir -p "$dir/zookeeper"
        cat > "$dir/zoo.cfg" <<EOF
tickTime=500
dataDir=$dir/zookeeper
clientPortAddress=127.0.0.1
clientPort=$ZK_PORT
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr
minSessionTimeout=1000
maxSessionTimeout=60000
EOF
        JMXDISABLE=true SERVER_JVMFLAGS="-Xmx128m" ZOO_LOG_DIR="$dir" \
            setsid "$zk_server" start-foreground "$dir/zoo.cfg" >> "$dir/zookeeper.out" 2>&1 < /dev/null &
        echo $! > "$dir/pids/zookeeper"
        if ! $util wait-zk "127.0.0.1:$ZK_PORT" "$start_timeout" "$(pid_of zookeeper)"; then
            tail -n 30 "$dir/zookeeper.out" >&2
            exit 1
        fi
        echo "cluster: ZooKeeper serves on 127.0.0.1:$ZK_PORT (pid $(pid_of zookeeper))"
    fi

    # Internal topics cannot ask for more replicas than there are brokers.
    local rf=$((N < 3 ? N : 3)) min_isr=$((N < 2 ? N : 2)) bport hport
    for ((i = 1; i <= N; i++)); do
        if ours "$(pid_of "broker-$i")" "$(broker_pattern "$i")"; then
            echo "cluster: broker $i runs (pid $(pid_of "broker-$i"))"
            continue
        fi
        bport=BROKER_PORT_$i hport=HTTP_PORT_$i
        mkdir -p "$dir/broker-$i/data"
        local -a args=(
            --override "broker.id=$i"
            --override "listeners=PLAINTEXT://127.0.0.1:${!bport}"
            --override "log.dirs=$dir/broker-$i/data"
            --override "http.listeners=http://127.0.0.1:${!hport}"
            --override "zookeeper.connect=127.0.0.1:$ZK_PORT$CHROOT"
            --override "offsets.topic.replication.factor=$rf"
            --override "transaction.state.log.replication.factor=$rf"
            --override "transaction.state.log.min.isr=$min_isr"
        )
        local kv
        for kv in ${CLUSTER_OVERRIDES:-}; do
            args+=(--override "$kv")
        done
        setsid "$broker_bin" "${args[@]}" >> "$dir/broker-$i.out" 2>&1 < /dev/null &
        echo $! > "$dir/pids/broker-$i"
        echo "cluster: started broker $i (pid $!), output in $dir/broker-$i.out"
    done

    # Ready once every broker's /v1/brokers lists all N and names one controller among them.
    if ! /usr/bin/python3 - "$dir" "$N" "$start_timeout" <<'PY'
import json, os, sys, time, urllib.request
d, n, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
env = dict(line.strip().split("=", 1) for line in open(os.path.join(d, "cluster.env")) if "=" in line)
deadline = time.monotonic() + limit
views = {}
while time.monotonic() < deadline:
    views = {}
    for i in range(1, n + 1):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%s/v1/brokers" % env["HTTP_PORT_%d" % i], timeout=2) as r:
                views[i] = json.loads(r.read().decode())
        except (OSError, ValueError):
            views[i] = None
    listed = [v for v in views.values() if v is not None]
    if len(listed) == n and all(sorted(b["broker_id"] for b in v["brokers"]) == list(range(1, n + 1))
                                for v in listed) and len({v["controller_id"] for v in listed}) == 1 \
            and listed[0]["controller_id"] in range(1, n + 1):
        sys.exit(0)
    time.sleep(0.2)
for i, v in views.items():
    sys.stderr.write("broker %d: %s\n" % (i, "no answer" if v is None else
                     "lists %s, controller %s" % (sorted(b["broker_id"] for b in v["brokers"]), v["controller_id"])))
sys.exit(1)
PY
    then
        echo "cluster: the brokers did not form a cluster of $N within ${start_timeout}s (see $dir/broker-*.out;" \
             "scripts/cluster.sh stop stops what runs)" >&2
        exit 1
    fi
    local bootstrap="" http=""
    for ((i = 1; i <= N; i++)); do
        bport=BROKER_PORT_$i hport=HTTP_PORT_$i
        bootstrap+="${bootstrap:+,}127.0.0.1:${!bport}"
        http+="  broker $i: http://127.0.0.1:${!hport}/v1/brokers"$'\n'
    done
    echo "cluster: $N brokers ready on ZooKeeper 127.0.0.1:$ZK_PORT$CHROOT"
    echo "bootstrap: $bootstrap"
    printf 'http:\n%s' "$http"
}

stop() {
    [ -d "$dir" ] || { echo "cluster: nothing in $dir"; return 0; }
    dir=$(cd "$dir" && pwd)
    local N=0 i
    load_env
    local -a brokers=()
    for ((i = 1; i <= N; i++)); do
        brokers+=("broker-$i:$(pid_of "broker-$i"):$(broker_pattern "$i")")
    done
    # Brokers first: they deregister from ZooKeeper as they stop.
    [ ${#brokers[@]} -eq 0 ] || stop_pids "${brokers[@]}"
    stop_pids "zookeeper:$(pid_of zookeeper):$(zk_pattern)"
    rm -f "$dir"/pids/*
    echo "cluster: nothing of $dir runs"
}

status() {
    [ -f "$dir/cluster.env" ] || { echo "cluster: no cluster in $dir (scripts/cluster.sh start)"; return 1; }
    dir=$(cd "$dir" && pwd)
    local N=0 i all=0 bport hport mode
    load_env
    if ours "$(pid_of zookeeper)" "$(zk_pattern)"; then
        mode=$($util zk-mode "127.0.0.1:$ZK_PORT" || echo "not serving")
        echo "zookeeper: alive (pid $(pid_of zookeeper)) on 127.0.0.1:$ZK_PORT, mode $mode"
    else
        echo "zookeeper: stopped"
        all=1
    fi
    for ((i = 1; i <= N; i++)); do
        bport=BROKER_PORT_$i hport=HTTP_PORT_$i
        if ours "$(pid_of "broker-$i")" "$(broker_pattern "$i")"; then
            echo "broker $i: alive (pid $(pid_of "broker-$i")) on 127.0.0.1:${!bport}, http://127.0.0.1:${!hport}"
            /usr/bin/python3 - "${!hport}" <<'PY' || true
import json, sys, urllib.request
try:
    with urllib.request.urlopen("http://127.0.0.1:%s/v1/brokers" % sys.argv[1], timeout=3) as r:
        v = json.loads(r.read().decode())
    print("  /v1/brokers: cluster %s, controller %s, brokers %s" % (
        v["cluster_id"], v["controller_id"],
        ", ".join("%d (%s)" % (b["broker_id"], " ".join("%s:%d" % (e["host"], e["port"]) for e in b["endpoints"]))
                  for b in v["brokers"])))
except (OSError, ValueError, KeyError) as e:
    print("  /v1/brokers: no answer (%s)" % e)
PY
        else
            echo "broker $i: stopped"
            all=1
        fi
    done
    return $all
}

clean() {
    stop
    if [ -d "$dir" ]; then
        rm -rf "$dir"
        echo "cluster: removed $dir"
    fi
}

case ${1:-} in
    start) [ $# -le 2 ] || { usage; exit 2; }; start "${2:-}" ;;
    stop) [ $# -eq 1 ] || { usage; exit 2; }; stop ;;
    status) [ $# -eq 1 ] || { usage; exit 2; }; status ;;
    clean) [ $# -eq 1 ] || { usage; exit 2; }; clean ;;
    *) usage; exit 2 ;;
esac
