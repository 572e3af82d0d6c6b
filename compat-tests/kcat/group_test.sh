#!/usr/bin/env bash
# kcat -G (librdkafka's balanced consumer, auto commit): two consumers of one group split a
# 4-partition topic, a member that joins later takes over half of the partitions without reading
# anything twice (offsets are committed on revoke), the survivor of a clean leave takes all
# partitions, and a consumer started after both have left resumes exactly at the commits.
# The topic is created up front with four partitions (kcat has no admin calls: confluent-kafka's
# AdminClient), so the test needs no broker override and runs against Kafka too.
set -euo pipefail
: "${BOOTSTRAP:?run through lib/broker_process.py}"
fail() { echo "FAIL: $*" >&2; exit 1; }

topic=kg
group=kg-group
partitions=4
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# produce <batch> <count per partition>: values "b<batch>-p<partition>-<i>", explicit partitions.
produce() {
    local p
    for ((p = 0; p < partitions; p++)); do
        for ((i = 0; i < $2; i++)); do echo "b$1-p$p-$i"; done |
            timeout 30 kcat -b "$BOOTSTRAP" -P -t "$topic" -p "$p" -X acks=all
    done
}

# start_member <name>: a balanced consumer in the background; "<partition> <offset> <value>"
# lines go to $work/<name>.out and kcat's group messages to $work/<name>.err.
start_member() {
    timeout 120 kcat -b "$BOOTSTRAP" -G "$group" -u -X auto.offset.reset=earliest \
        -X session.timeout.ms=6000 -X heartbeat.interval.ms=300 \
        -X partition.assignment.strategy=range -f '%p %o %s\n' "$topic" \
        >"$work/$1.out" 2>"$work/$1.err" &
    pids+=($!)
    eval "pid_$1=$!"
}

# The partitions of a member's latest assignment, space separated ("" after a revoke).
assigned() {
    local line
    line=$(grep 'rebalanced' "$work/$1.err" | tail -1 || true)
    case "$line" in
        *assigned:*) echo "$line" | sed 's/.*assigned: //' | grep -o '\[[0-9]*\]' | tr -d '[]' | sort -n | tr '\n' ' ' ;;
        *) echo "" ;;
    esac
}

# wait_for <description> <command...>: polls the command (bounded) until it succeeds.
wait_for() {
    local what=$1
    shift
    for ((n = 0; n < 600; n++)); do
        if "$@"; then return 0; fi
        sleep 0.1
    done
    for f in "$work"/*.err; do echo "== $f"; cat "$f"; done >&2
    fail "timed out waiting for $what"
}
lines() { cat "$work"/*.out 2>/dev/null | wc -l; }
has_lines() { [ "$(lines)" -ge "$1" ]; }
assignment_is() { [ "$(assigned "$1")" = "$2" ]; }
split_between() {
    local a b
    a=$(assigned "$1")
    b=$(assigned "$2")
    [ -n "$a" ] && [ -n "$b" ] && [ "$(echo $a $b | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "0 1 2 3 " ]
}

/usr/bin/python3 - "$BOOTSTRAP" "$topic" "$partitions" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
for _, f in admin.create_topics([NewTopic(sys.argv[2], num_partitions=int(sys.argv[3]),
                                          replication_factor=1)]).items():
    f.result(timeout=30)
PY

# 1. One member takes every partition and reads the first batch.
produce 1 5
start_member a
wait_for "a's assignment" assignment_is a "0 1 2 3 "
wait_for "batch 1" has_lines 20

# 2. A second member joins: the partitions are split 2 + 2, and the second batch is read by the
# owner of each partition.
start_member b
wait_for "a 2 + 2 split" split_between a b
a_parts=$(assigned a)
b_parts=$(assigned b)
echo "a: $a_parts b: $b_parts"
[ "$(echo $a_parts | wc -w)" -eq 2 ] || fail "a has $a_parts"
produce 2 5
wait_for "batch 2" has_lines 40
for p in $a_parts; do
    [ "$(grep -c "^$p .* b2-" "$work/b.out" || true)" -eq 0 ] || fail "b read batch 2 of a's partition $p"
done
for p in $b_parts; do
    [ "$(grep -c "^$p .* b2-" "$work/a.out" || true)" -eq 0 ] || fail "a read batch 2 of b's partition $p"
done

# 3. b leaves (SIGTERM closes the consumer: commit, LeaveGroup): a takes every partition again.
kill -TERM "$pid_b"
wait "$pid_b" || fail "b exited with $?"
grep -q 'revoked' "$work/b.err" || fail "b was not revoked on close"
wait_for "a's full assignment after b left" assignment_is a "0 1 2 3 "
produce 3 5
wait_for "batch 3" has_lines 60
kill -TERM "$pid_a"
wait "$pid_a" || fail "a exited with $?"

# 4. A consumer started after both left resumes at the commits: only batch 4, then it exits at the
# end of every partition (-e).
produce 4 2
timeout 60 kcat -b "$BOOTSTRAP" -G "$group" -u -e -X auto.offset.reset=earliest \
    -f '%p %o %s\n' "$topic" >"$work/c.out" 2>"$work/c.err" || fail "c exited with $?"
[ "$(wc -l <"$work/c.out")" -eq 8 ] || fail "c read $(wc -l <"$work/c.out") messages: $(cat "$work/c.out")"
[ "$(grep -c ' b4-' "$work/c.out")" -eq 8 ] || fail "c read messages other than batch 4"

# Every message of every batch was read exactly once across the group.
expected=$(for b in 1 2 3; do for ((p = 0; p < partitions; p++)); do for ((i = 0; i < 5; i++)); do
    echo "b$b-p$p-$i"; done; done; done
    for ((p = 0; p < partitions; p++)); do for ((i = 0; i < 2; i++)); do echo "b4-p$p-$i"; done; done)
got=$(cat "$work"/*.out | awk '{print $3}')
[ "$(echo "$got" | sort)" = "$(echo "$expected" | sort)" ] ||
    fail "messages differ: $(diff <(echo "$got" | sort) <(echo "$expected" | sort) | head -20)"
# ... from the partition and at the offset it was written to (five messages per batch before 4).
cat "$work"/*.out | awk '{split($3, f, "-"); if ("p" $1 != f[2] || $2 != (substr(f[1], 2) - 1) * 5 + f[3]) exit 1}' ||
    fail "a message came from the wrong partition or offset"
echo ok
