#!/usr/bin/env bash
# Runs Apache Kafka 3.9.2 in ZooKeeper mode as the reference the compat suites can run against
# (COMPAT_TARGET=kafka), from the jars scripts/kafka-tool.sh --fetch puts in .deps/java/kafka-3.9.2
# and Debian's ZooKeeper (package zookeeper).
#   scripts/reference-kafka.sh start DIR [KEY=VALUE...]   start ZooKeeper and Kafka (data under DIR,
#                        KEY=VALUE are extra server.properties), wait until Kafka answers Metadata,
#                        write DIR/reference.env and print BOOTSTRAP=host:port (stdout; the
#                        start time goes to stderr)
#   scripts/reference-kafka.sh stop DIR                   stop both by their PIDs, delete DIR's data
#   scripts/reference-kafka.sh dump-zk DIR OUT            a running instance's znodes as JSON
#   scripts/reference-kafka.sh dump-zk-fixture OUT        start, create topics/configs/a group, dump, stop
# DIR/reference.env holds BOOTSTRAP, KAFKA_PID, ZK_PID, ZK_CONNECT (with the chroot), KAFKA_LOG_DIR
# and KAFKA_START_SECONDS (JVM launch to the first answered Metadata request).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kafka_version=3.9.2
jars="$here/.deps/java/kafka-$kafka_version"
util="/usr/bin/python3 $here/scripts/reference_kafka_util.py"
zk_server=/usr/share/zookeeper/bin/zkServer.sh
chroot=/sluice-reference
start_timeout=${REFERENCE_START_TIMEOUT:-120}
stop_timeout=${REFERENCE_STOP_TIMEOUT:-60}

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

# stop_pid PID NAME: SIGTERM, wait (bounded), then SIGKILL.
stop_pid() {
    local pid=$1 name=$2 i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < stop_timeout * 10; i++)); do
        # Gone, or a zombie nobody has reaped yet.
        if ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "reference-kafka: $name ($pid) did not stop within ${stop_timeout}s; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
}

start() {
    local dir=$1 kv
    shift
    for kv in "$@"; do
        case $kv in
            ?*=*) ;;
            *) echo "reference-kafka: '$kv' is not KEY=VALUE" >&2; exit 2 ;;
        esac
    done
    if [ ! -e "$jars/.complete" ]; then
        bash "$here/scripts/kafka-tool.sh" --fetch
    fi
    [ -x "$zk_server" ] || { echo "reference-kafka: needs Debian's zookeeper package ($zk_server)" >&2; exit 2; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -e "$dir/reference.env" ]; then
        echo "reference-kafka: $dir/reference.env exists (stop it first)" >&2
        exit 1
    fi
    rm -rf "$dir/zookeeper" "$dir/kafka-logs"
    mkdir -p "$dir/zookeeper" "$dir/kafka-logs"

    # A free port may be taken by another process before the server binds it: up to three tries.
    local zk_port kafka_port zk_pid="" kafka_pid="" attempt
    for attempt in 1 2 3; do
        zk_port=$($util free-port)
        cat > "$dir/zoo.cfg" <<EOF
tickTime=2000
dataDir=$dir/zookeeper
clientPortAddress=127.0.0.1
clientPort=$zk_port
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr
EOF
        JMXDISABLE=true SERVER_JVMFLAGS="-Xmx256m -Dzookeeper.root.logger=INFO,CONSOLE" \
            "$zk_server" start-foreground "$dir/zoo.cfg" > "$dir/zookeeper.out" 2>&1 < /dev/null &
        zk_pid=$!
        echo "ZK_PID=$zk_pid" > "$dir/pids"
        # A cold JVM accepts connections a moment before it serves them: wait for srvr's Mode.
        if $util wait-zk "127.0.0.1:$zk_port" "$start_timeout" "$zk_pid"; then
            break
        fi
        tail -n 50 "$dir/zookeeper.out" >&2
        stop_pid "$zk_pid" zookeeper
        [ "$attempt" -lt 3 ] || exit 1
    done

    cat > "$dir/log4j.properties" <<EOF
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
EOF
    local zk_connect="127.0.0.1:$zk_port$chroot" t0 t1
    for attempt in 1 2 3; do
        kafka_port=$($util free-port)
        cat > "$dir/server.properties" <<EOF
broker.id=0
listeners=PLAINTEXT://127.0.0.1:$kafka_port
log.dirs=$dir/kafka-logs
zookeeper.connect=$zk_connect
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
EOF
        [ $# -eq 0 ] || printf '%s\n' "$@" >> "$dir/server.properties"
        t0=$(date +%s.%N)
        java -Xmx1g -Xms1g -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
            -Djava.awt.headless=true -Dlog4j.configuration="file:$dir/log4j.properties" \
            -Dkafka.logs.dir="$dir" -cp "$jars/*" kafka.Kafka "$dir/server.properties" \
            > "$dir/kafka.out" 2>&1 < /dev/null &
        kafka_pid=$!
        printf 'ZK_PID=%s\nKAFKA_PID=%s\n' "$zk_pid" "$kafka_pid" > "$dir/pids"
        if $util wait-kafka "127.0.0.1:$kafka_port" "$start_timeout" "$kafka_pid" "$zk_connect"; then
            break
        fi
        tail -n 80 "$dir/kafka.out" >&2
        stop_pid "$kafka_pid" kafka
        # Only a port taken in the meantime is worth another try.
        if [ "$attempt" -eq 3 ] || ! grep -q "BindException\|Address already in use" "$dir/kafka.out"; then
            stop_pid "$zk_pid" zookeeper
            exit 1
        fi
    done
    t1=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    cat > "$dir/reference.env.tmp" <<EOF
BOOTSTRAP=127.0.0.1:$kafka_port
KAFKA_PID=$kafka_pid
ZK_PID=$zk_pid
ZK_CONNECT=$zk_connect
KAFKA_LOG_DIR=$dir/kafka-logs
KAFKA_START_SECONDS=$secs
EOF
    mv "$dir/reference.env.tmp" "$dir/reference.env"
    echo "reference-kafka: Kafka $kafka_version listening after ${secs}s (KAFKA_START_SECONDS=$secs; ZooKeeper 127.0.0.1:$zk_port, pids $kafka_pid/$zk_pid)" >&2
    echo "BOOTSTRAP=127.0.0.1:$kafka_port"
}

stop() {
    local dir=$1 KAFKA_PID="" ZK_PID=""
    [ -d "$dir" ] || return 0
    # pids is written as each process starts, reference.env once both serve; either will do.
    if [ -f "$dir/reference.env" ]; then
        # shellcheck disable=SC1091
        . "$dir/reference.env"
    elif [ -f "$dir/pids" ]; then
        # shellcheck disable=SC1091
        . "$dir/pids"
    fi
    # Kafka first: without ZooKeeper its controlled shutdown would wait on it.
    stop_pid "$KAFKA_PID" kafka
    stop_pid "$ZK_PID" zookeeper
    rm -rf "$dir/zookeeper" "$dir/kafka-logs" "$dir/reference.env" "$dir/pids" "$dir/zoo.cfg" \
        "$dir/server.properties" "$dir/log4j.properties" "$dir/kafka.out" "$dir/zookeeper.out"
    rmdir "$dir" 2>/dev/null || true
}

dump_zk() {
    local dir=$1 out=$2
    # shellcheck disable=SC1091
    . "$dir/reference.env"
    $util dump-zk "${ZK_CONNECT%%/*}" "/${ZK_CONNECT#*/}" "$out"
}

# A run that leaves the znodes the fixture documents: topics with configs and several partitions,
# a changed topic config and broker config, a consumer group with committed offsets.
dump_zk_fixture() {
    local out=$1 dir tool="bash $here/scripts/kafka-tool.sh"
    dir=$(mktemp -d "${TMPDIR:-/tmp}/reference-kafka-dump-XXXXXX")
    dump_dir=$dir  # global: the EXIT trap runs after this function has returned
    trap 'stop "$dump_dir"' EXIT
    start "$dir" > /dev/null
    # shellcheck disable=SC1091
    . "$dir/reference.env"
    $tool kafka-topics --bootstrap-server "$BOOTSTRAP" --create --topic orders --partitions 3 \
        --replication-factor 1 --config retention.ms=3600000 --config cleanup.policy=delete
    $tool kafka-topics --bootstrap-server "$BOOTSTRAP" --create --topic compacted --partitions 2 \
        --replication-factor 1 --config cleanup.policy=compact
    $tool kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --entity-type topics \
        --entity-name orders --add-config max.message.bytes=2000000,retention.ms=7200000
    $tool kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --entity-type brokers \
        --entity-name 0 --add-config log.cleaner.threads=2
    $tool kafka-configs --bootstrap-server "$BOOTSTRAP" --alter --entity-type brokers \
        --entity-default --add-config log.retention.ms=86400000
    seq 1 30 | sed 's/^/order-/' | $tool kafka-console-producer --bootstrap-server "$BOOTSTRAP" \
        --topic orders > /dev/null
    $tool kafka-console-consumer --bootstrap-server "$BOOTSTRAP" --topic orders --group dumpers \
        --from-beginning --max-messages 30 --timeout-ms 60000 > /dev/null
    dump_zk "$dir" "$out"
}

cmd=${1:-}
case $cmd in
    start) [ $# -ge 2 ] || { usage; exit 2; }; shift; start "$@" ;;
    stop) [ $# -eq 2 ] || { usage; exit 2; }; stop "$2" ;;
    dump-zk) [ $# -eq 3 ] || { usage; exit 2; }; dump_zk "$2" "$3" ;;
    dump-zk-fixture) [ $# -eq 2 ] || { usage; exit 2; }; dump_zk_fixture "$2" ;;
    *) usage; exit 2 ;;
esac
