#!/usr/bin/env bash
# Apache Kafka 3.9.2's own command-line tools against this broker, through scripts/kafka-tool.sh:
# kafka-topics (create, describe), kafka-console-producer and kafka-console-consumer (with a group),
# kafka-get-offsets, kafka-consumer-groups (describe: every message consumed, no lag; reset-offsets
# to the earliest and the latest, each checked with describe; delete, then list),
# kafka-configs (alter, describe), kafka-delete-records (then the earliest offset moved),
# kafka-leader-election (every leader is already the preferred one), kafka-log-dirs (the
# partitions and their sizes), kafka-producer-perf-test and kafka-consumer-perf-test (20,000
# records each way), and
# kafka-dump-log over this broker's own segment, offset-index and time-index files with
# --deep-iteration and --index-sanity-check (the on-disk format is Kafka's).
set -euo pipefail
: "${BOOTSTRAP:?run through lib/broker_process.py}"
: "${BROKER_DATA:?run through lib/broker_process.py}"
here=$(cd "$(dirname "$0")/../.." && pwd)
tool() { timeout 120 bash "$here/scripts/kafka-tool.sh" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {  # expect <what> <pattern> <text>
    grep -Eq -- "$2" <<<"$3" || fail "$1: no '$2' in:"$'\n'"$3"
}

# Topics.
out=$(tool kafka-topics --bootstrap-server "$BOOTSTRAP" --create --topic kt --partitions 3 2>&1)
expect "kafka-topics --create" "^Created topic kt\.$" "$out"
out=$(tool kafka-topics --bootstrap-server "$BOOTSTRAP" --describe --topic kt 2>&1)
expect "kafka-topics --describe" "PartitionCount: 3" "$out"
[ "$(grep -c 'Leader: 0' <<<"$out")" -eq 3 ] || fail "kafka-topics --describe: 3 led partitions:"$'\n'"$out"
out=$(tool kafka-topics --bootstrap-server "$BOOTSTRAP" --create --topic kt --partitions 1 2>&1 || true)
expect "kafka-topics --create twice" "already exists" "$out"

# Produce 100 lines, then count them with kafka-get-offsets.
seq 1 100 | tool kafka-console-producer --bootstrap-server "$BOOTSTRAP" --topic kt \
    --producer-property acks=all >/dev/null 2>&1
out=$(tool kafka-get-offsets --bootstrap-server "$BOOTSTRAP" --topic kt 2>&1)
total=$(awk -F: '/^kt:/ {s += $3} END {print s + 0}' <<<"$out")
[ "$total" -eq 100 ] || fail "kafka-get-offsets: $total messages, expected 100:"$'\n'"$out"

# Consume them all in a group; the group then has no lag.
out=$(tool kafka-console-consumer --bootstrap-server "$BOOTSTRAP" --topic kt --group kt-group \
    --from-beginning --max-messages 100 --timeout-ms 30000 2>&1)
expect "kafka-console-consumer" "Processed a total of 100 messages" "$out"
[ "$(grep -Ec '^[0-9]+$' <<<"$out")" -eq 100 ] || fail "kafka-console-consumer: not 100 values"
out=$(tool kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --describe --group kt-group 2>&1)
committed=$(awk '$1 == "kt-group" && $2 == "kt" {s += $4} END {print s + 0}' <<<"$out")
lag=$(awk '$1 == "kt-group" && $2 == "kt" {s += $6} END {print s + 0}' <<<"$out")
[ "$committed" -eq 100 ] && [ "$lag" -eq 0 ] ||
    fail "kafka-consumer-groups: committed $committed, lag $lag:"$'\n'"$out"

# The group is empty now: reset it to the earliest offsets (the whole topic is lag again), then to
# the latest, checking each with --describe; then delete it.
group_totals() {  # prints "<committed> <lag>" of kt-group on kt
    tool kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --describe --group kt-group 2>&1 |
        awk '$1 == "kt-group" && $2 == "kt" {c += $4; l += $6} END {print c + 0, l + 0}'
}
# --reset-offsets prints each row after a line break, not before one: match the rows, not lines.
reset_rows() {  # prints "<rows> <sum of NEW-OFFSET>"
    grep -oE 'kt-group +kt +[0-9]+ +[0-9]+' <<<"$1" | awk '{n++; s += $4} END {print n + 0, s + 0}'
}
out=$(tool kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --reset-offsets --group kt-group \
    --topic kt --to-earliest --execute 2>&1)
rows=$(reset_rows "$out")
[ "$rows" = "3 0" ] || fail "kafka-consumer-groups --reset-offsets --to-earliest: $rows:"$'\n'"$out"
totals=$(group_totals)
[ "$totals" = "0 100" ] || fail "after --to-earliest: committed and lag $totals, expected 0 100"
out=$(tool kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --reset-offsets --group kt-group \
    --topic kt --to-latest --execute 2>&1)
rows=$(reset_rows "$out")
[ "$rows" = "3 100" ] || fail "kafka-consumer-groups --reset-offsets --to-latest: $rows:"$'\n'"$out"
totals=$(group_totals)
[ "$totals" = "100 0" ] || fail "after --to-latest: committed and lag $totals, expected 100 0"
out=$(tool kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --delete --group kt-group 2>&1)
expect "kafka-consumer-groups --delete" "Deletion of requested consumer groups \('kt-group'\) was successful" "$out"
out=$(tool kafka-consumer-groups --bootstrap-server "$BOOTSTRAP" --list 2>&1)
! grep -qx "kt-group" <<<"$out" || fail "kafka-consumer-groups --list still shows kt-group:"$'\n'"$out"

# Configs.
out=$(tool kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type topics --entity-name kt \
    --alter --add-config retention.ms=86400000 2>&1)
expect "kafka-configs --alter" "Completed updating config for topic kt" "$out"
out=$(tool kafka-configs --bootstrap-server "$BOOTSTRAP" --entity-type topics --entity-name kt \
    --describe 2>&1)
expect "kafka-configs --describe" "retention.ms=86400000" "$out"

# DeleteRecords on a one-partition topic of 20 messages.
tool kafka-topics --bootstrap-server "$BOOTSTRAP" --create --topic kd --partitions 1 >/dev/null 2>&1
seq 1 20 | tool kafka-console-producer --bootstrap-server "$BOOTSTRAP" --topic kd \
    --producer-property acks=all >/dev/null 2>&1
delete_json=$(mktemp)
trap 'rm -f "$delete_json"' EXIT
echo '{"partitions": [{"topic": "kd", "partition": 0, "offset": 5}], "version": 1}' >"$delete_json"
out=$(tool kafka-delete-records --bootstrap-server "$BOOTSTRAP" --offset-json-file "$delete_json" 2>&1)
expect "kafka-delete-records" "partition: kd-0.*low_watermark: 5" "$out"
out=$(tool kafka-get-offsets --bootstrap-server "$BOOTSTRAP" --topic kd --time -2 2>&1)
expect "kafka-get-offsets --time -2" "^kd:0:5$" "$out"

# kafka-log-dirs: one log dir on broker 0, holding kt's three partitions with their sizes.
out=$(tool kafka-log-dirs --bootstrap-server "$BOOTSTRAP" --describe --topic-list kt 2>&1)
json=$(grep '^{' <<<"$out" | tail -1)
/usr/bin/python3 - "$json" <<'PY' || fail "kafka-log-dirs:"$'\n'"$out"
import json, sys
doc = json.loads(sys.argv[1])
dirs = [d for b in doc["brokers"] if b["broker"] == 0 for d in b["logDirs"]]
assert len(dirs) == 1 and dirs[0]["error"] is None, dirs
parts = {p["partition"]: p["size"] for p in dirs[0]["partitions"]}
assert sorted(parts) == ["kt-0", "kt-1", "kt-2"], parts
assert sum(parts.values()) > 0, parts
PY

# Preferred-leader election: nothing to move. Named partitions are reported as already led by
# their preferred replica; over every partition Kafka lists only the partitions it elected or
# failed to elect, so the tool prints nothing at all.
out=$(tool kafka-leader-election --bootstrap-server "$BOOTSTRAP" --election-type preferred \
    --topic kt --partition 1 2>&1)
expect "kafka-leader-election --topic" "^Valid replica already elected for partitions kt-1$" "$out"
out=$(tool kafka-leader-election --bootstrap-server "$BOOTSTRAP" --election-type preferred \
    --all-topic-partitions 2>&1)
[ -z "$out" ] || fail "kafka-leader-election --all-topic-partitions printed:"$'\n'"$out"

# The perf tools: 20,000 records of 100 B with acks=all, then all of them read back.
tool kafka-topics --bootstrap-server "$BOOTSTRAP" --create --topic kp --partitions 4 >/dev/null 2>&1
out=$(tool kafka-producer-perf-test --topic kp --num-records 20000 --record-size 100 \
    --throughput -1 --producer-props bootstrap.servers="$BOOTSTRAP" acks=all 2>&1)
expect "kafka-producer-perf-test" "^20000 records sent" "$out"
out=$(tool kafka-consumer-perf-test --bootstrap-server "$BOOTSTRAP" --topic kp --messages 20000 \
    --timeout 60000 2>&1)
consumed=$(awk -F', *' 'NF >= 6 && $1 ~ /^[0-9][0-9][0-9][0-9]-/ {print $5}' <<<"$out" | tail -1)
[ "${consumed:-0}" -eq 20000 ] || fail "kafka-consumer-perf-test: ${consumed:-no} messages:"$'\n'"$out"

# kafka-dump-log reads the broker's own files: every batch valid, 20 records, sane indexes.
dir="$BROKER_DATA/kd-0"
files=$(ls "$dir"/*.log "$dir"/*.index "$dir"/*.timeindex | paste -sd, -)
out=$(tool kafka-dump-log --files "$files" --deep-iteration --index-sanity-check 2>&1)
expect "kafka-dump-log" "magic: 2" "$out"
if grep -q "isvalid: false" <<<"$out"; then fail "kafka-dump-log: an invalid batch:"$'\n'"$out"; fi
records=$(grep -c '^| offset: ' <<<"$out" || true)
[ "$records" -eq 20 ] || fail "kafka-dump-log: $records records, expected 20:"$'\n'"$out"
expect "kafka-dump-log --index-sanity-check" "passed sanity check" "$out"
echo "kafka tools: ok"
