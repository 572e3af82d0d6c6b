"""A consumer group resumes at its committed offsets after its coordinator restarts.

Three brokers, offsets.topic.replication.factor=1. A group (confluent-kafka) reads part of a
3-partition topic and commits. Its coordinator, found with describe_consumer_groups, is the leader
of the __consumer_offsets partition Kafka's rule picks for the group (abs(Java hashCode of the
group id) mod offsets.topic.num.partitions). That broker is stopped with SIGTERM (a clean exit) and
started again; the committed offsets read the same, and a new member of the group reads exactly
the rest: nothing twice, nothing skipped. Runs on the confluent-kafka of .deps/venv (2.x), whose
admin client has describe_consumer_groups.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cluster import Cluster, ZooKeeperServer, create_topic, produce, require_zookeeper, wait_for  # noqa: E402

TOPIC = "resume"
GROUP = "resumers"
PARTITIONS = 3
N = 100  # messages per partition
FIRST = 120  # messages the first member reads (at least) before committing
OFFSETS_PARTITIONS = 50  # offsets.topic.num.partitions, Kafka's default


def java_string_hash(s):
    """Java's String.hashCode: over UTF-16 code units, in 32-bit two's complement."""
    units = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(units), 2):
        h = (31 * h + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def offsets_partition_for(group):
    # Kafka's Utils.abs: Integer.MIN_VALUE maps to 0.
    h = java_string_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % OFFSETS_PARTITIONS


def committed_offsets(cluster):
    """The group's committed offsets ({partition: offset}), read by a consumer of the group that
    does not join it (OffsetFetch to the coordinator). (The admin client's
    list_consumer_group_offsets of librdkafka 2.16 crashed the process in rd_kafka_cgrp_op when
    asked while a restarted coordinator was loading, so the consumer call is used.)"""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": GROUP, "enable.auto.commit": False})
    try:
        committed = consumer.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=15)
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in committed if tp.offset >= 0}


def read(cluster, until, what, timeout=60.0):
    """A group member reads until until(messages) holds, commits what it read, and leaves;
    returns the messages as (partition, offset, value)."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": GROUP, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "session.timeout.ms": 10000})
    messages = []
    try:
        consumer.subscribe([TOPIC])
        deadline = time.monotonic() + timeout
        while not until(messages):
            assert time.monotonic() < deadline, "%s: %d messages read" % (what, len(messages))
            for m in consumer.consume(num_messages=10, timeout=0.5):
                assert m.error() is None, m.error()
                messages.append((m.partition(), m.offset(), m.value()))
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return messages


def main():
    require_zookeeper()
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    with ZooKeeperServer() as zk, Cluster(3, zk, overrides={
            "offsets.topic.replication.factor": "1", "group.initial.rebalance.delay.ms": "0"}) as cluster:
        create_topic(cluster.bootstrap, TOPIC, PARTITIONS, 1)
        cluster.wait_topic(TOPIC, PARTITIONS)
        everything = {(p, i, b"m-%d-%d" % (p, i)) for p in range(PARTITIONS) for i in range(N)}
        produce(cluster.bootstrap, TOPIC, {p: [b"m-%d-%d" % (p, i) for i in range(N)] for p in range(PARTITIONS)})

        first = read(cluster, lambda ms: len(ms) >= FIRST, "first member")
        assert len(set(first)) == len(first) and set(first) <= everything, "first member read duplicates"
        read_upto = {p: 1 + max([o for q, o, _ in first if q == p], default=-1) for p in range(PARTITIONS)}
        for p in range(PARTITIONS):  # each partition read from its start, in order
            assert sorted(o for q, o, _ in first if q == p) == list(range(read_upto[p])), p
        committed = committed_offsets(cluster)
        assert committed == {p: n for p, n in read_upto.items() if n > 0}, (committed, read_upto)
        print("first member read %d messages and committed %s" % (len(first), committed))

        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        described = admin.describe_consumer_groups([GROUP], request_timeout=15)[GROUP].result(timeout=30)
        del admin  # destroyed before its coordinator goes away
        coordinator = described.coordinator.id
        offsets_partition = offsets_partition_for(GROUP)
        assert cluster.leader_of("__consumer_offsets", offsets_partition) == coordinator, \
            (coordinator, offsets_partition, cluster.leader_of("__consumer_offsets", offsets_partition))
        print("coordinator: broker %d, leader of __consumer_offsets-%d" % (coordinator, offsets_partition))

        t0 = time.monotonic()
        code = cluster.kill(coordinator, signal.SIGTERM)
        if cluster.kind == "sluice":
            assert code == 0, "broker %d exited with %s on SIGTERM" % (coordinator, code)
        cluster.restart(coordinator)
        cluster.wait_ready(timeout=60.0)
        wait_for(lambda: cluster.leader_of("__consumer_offsets", offsets_partition) == coordinator,
                 "broker %d to lead __consumer_offsets-%d again" % (coordinator, offsets_partition), 60.0)
        print("coordinator stopped (SIGTERM) and back in %.1fs" % (time.monotonic() - t0))

        def readable():
            try:
                return committed_offsets(cluster)
            except KafkaException as e:  # e.g. the coordinator still loading the group
                print("committed offsets: %s" % e)
                return None

        after = wait_for(readable, "the group's offsets to be readable again", 60.0, interval=0.5)
        assert after == committed, (after, committed)

        rest = len(everything) - len(first)
        second = read(cluster, lambda ms: len(ms) >= rest, "second member")
        assert len(set(second)) == len(second), "second member read a message twice"
        assert not set(first) & set(second), "read again: %s" % sorted(set(first) & set(second))[:5]
        assert set(first) | set(second) == everything, "skipped: %s" % sorted(everything - set(first) - set(second))[:5]
        for p in range(PARTITIONS):
            offsets = [o for q, o, _ in second if q == p]
            assert offsets == list(range(read_upto[p], N)), (p, offsets[:3], read_upto[p])
        print("second member resumed at %s and read the other %d messages exactly" % (committed, len(second)))
    print("ok")


if __name__ == "__main__":
    main()
