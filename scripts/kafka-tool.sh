#!/usr/bin/env bash
# Runs one of Apache Kafka's stock command-line tools (3.9.2) against any broker, with no Kafka
# install: the first call resolves Kafka's jars from Maven Central into .deps/java/ (about 110 MB,
# compat-tests/java/kafka-3.9/pom.xml) and later calls reuse them.
#   scripts/kafka-tool.sh NAME ARGS...      e.g. kafka-topics --bootstrap-server 127.0.0.1:9092 --list
#   scripts/kafka-tool.sh --fetch           only resolve the jars
#   scripts/kafka-tool.sh --list            the tool names it knows
# Needs a JDK (17) and Maven; on Debian, `apt-get install maven` brings both.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kafka_version=3.9.2
jars="$here/.deps/java/kafka-$kafka_version"

# Kafka's script name -> the class its bin/ script runs in 3.9.
declare -A tools=(
    [kafka-topics]=org.apache.kafka.tools.TopicCommand
    [kafka-configs]=kafka.admin.ConfigCommand
    [kafka-consumer-groups]=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
    [kafka-console-producer]=kafka.tools.ConsoleProducer
    [kafka-console-consumer]=org.apache.kafka.tools.consumer.ConsoleConsumer
    [kafka-get-offsets]=org.apache.kafka.tools.GetOffsetShell
    [kafka-delete-records]=org.apache.kafka.tools.DeleteRecordsCommand
    [kafka-log-dirs]=org.apache.kafka.tools.LogDirsCommand
    [kafka-leader-election]=org.apache.kafka.tools.LeaderElectionCommand
    [kafka-features]=org.apache.kafka.tools.FeatureCommand
    [kafka-producer-perf-test]=org.apache.kafka.tools.ProducerPerformance
    [kafka-consumer-perf-test]=org.apache.kafka.tools.ConsumerPerformance
    [kafka-dump-log]=kafka.tools.DumpLogSegments
)

fetch() {
    [ -e "$jars/.complete" ] && return 0
    if ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
        echo "kafka-tool: needs Maven and a JDK (apt-get install maven)" >&2
        exit 2
    fi
    echo "kafka-tool: resolving Kafka $kafka_version's jars into $jars" >&2
    rm -rf "$jars"
    mvn -q -B -Dstyle.color=never -f "$here/compat-tests/java/kafka-3.9/pom.xml" -Dmaven.repo.local="$here/.deps/m2" \
        dependency:copy-dependencies -DoutputDirectory="$jars" >&2
    touch "$jars/.complete"
}

case "${1:-}" in
    ""|-h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --fetch) fetch; exit 0 ;;
    --list) printf '%s\n' "${!tools[@]}" | sort; exit 0 ;;
esac
name=$1
shift
class=${tools[$name]:-}
if [ -z "$class" ]; then
    echo "kafka-tool: unknown tool '$name' (scripts/kafka-tool.sh --list)" >&2
    exit 2
fi
fetch
# Kafka's own scripts run the tools with log4j quiet unless asked; so does this one.
exec java -Xmx512m -Dlog4j.configuration="file:$here/compat-tests/java/kafka-3.9/tools-log4j.properties" \
    -cp "$jars/*" "$class" "$@"
