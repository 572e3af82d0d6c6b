"""A broker leading partitions of a replication-factor-1 topic dies (SIGKILL) and comes back.

Three brokers, a topic of 6 partitions with one replica each, messages in every partition. A
broker other than the controller, leading two partitions, is killed. Once its ZooKeeper session
expires, every remaining broker's Metadata shows those partitions with leader -1 and the error
LEADER_NOT_AVAILABLE (as confluent-kafka reports them too) and the other partitions as they were;
produce and consume on the other partitions go on, exactly. Started again (same log.dirs), the
broker leads its partitions again and their data is intact, and they take new messages.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cluster import (LEADER_NOT_AVAILABLE, Cluster, ZooKeeperServer, consume, create_topic,  # noqa: E402
                     produce, require_zookeeper, wait_for)

TOPIC = "fragile"
PARTITIONS = 6
N = 100  # messages per partition before the failure
M = 40  # messages per partition produced later


def values(tag, p, count):
    return [b"%s-%d-%d" % (tag, p, i) for i in range(count)]


def check(cluster, topic, expected):
    """Consumes `expected` ({partition: [values]}) exactly."""
    got = consume(cluster.bootstrap, topic, {p: len(v) for p, v in expected.items()})
    for p, vals in expected.items():
        assert [v for _, v in got[p]] == vals, "partition %d differs" % p


def main():
    require_zookeeper()
    with ZooKeeperServer() as zk, Cluster(3, zk, overrides={"zookeeper.session.timeout.ms": "6000"}) as cluster:
        controller = cluster.agreed()
        create_topic(cluster.bootstrap, TOPIC, PARTITIONS, 1)
        leaders = cluster.wait_topic(TOPIC, PARTITIONS)
        victim = min(i for i in cluster.ids if i != controller)
        lost = sorted(p for p, leader in leaders.items() if leader == victim)
        kept = sorted(p for p in leaders if p not in lost)
        assert len(lost) == PARTITIONS // 3, leaders
        expected = {p: values(b"before", p, N) for p in range(PARTITIONS)}
        produce(cluster.bootstrap, TOPIC, expected)
        print("topic %s: leaders %s; killing broker %d (leads %s; controller is %d)"
              % (TOPIC, leaders, victim, lost, controller))

        killed_at = time.monotonic()
        cluster.kill(victim, signal.SIGKILL)
        remaining = cluster.live_ids()

        def offline_seen():
            for md in cluster.views(remaining).values():
                if set(md.brokers) != set(remaining):
                    return False
                parts = md.topics[TOPIC].partitions
                for p in lost:
                    if parts[p].leader != -1 or parts[p].error != LEADER_NOT_AVAILABLE:
                        return False
                for p in kept:
                    if parts[p].leader != leaders[p] or parts[p].error != 0:
                        return False
            return True

        wait_for(offline_seen, "partitions %s without a leader on every remaining broker" % lost, 30.0)
        print("partitions %s: leader -1, LEADER_NOT_AVAILABLE after %.1fs" % (lost, time.monotonic() - killed_at))

        from confluent_kafka import KafkaError
        from confluent_kafka.admin import AdminClient
        listed = AdminClient({"bootstrap.servers": cluster.bootstrap_of(remaining)}).list_topics(TOPIC, timeout=15)
        parts = listed.topics[TOPIC].partitions
        for p in lost:
            assert parts[p].leader == -1, (p, parts[p].leader)
            assert parts[p].error is not None and parts[p].error.code() == KafkaError.LEADER_NOT_AVAILABLE, \
                (p, parts[p].error)
        for p in kept:
            assert parts[p].leader == leaders[p] and parts[p].error is None, (p, parts[p].leader, parts[p].error)

        t0 = time.monotonic()
        more = {p: values(b"during", p, M) for p in kept}
        offsets = produce(cluster.bootstrap, TOPIC, more)
        for p in kept:
            assert offsets[p] == list(range(N, N + M)), (p, offsets[p])
            expected[p] += more[p]
        check(cluster, TOPIC, {p: expected[p] for p in kept})
        print("produced and consumed on partitions %s without broker %d in %.1fs" % (kept, victim, time.monotonic() - t0))

        t0 = time.monotonic()
        cluster.restart(victim)
        cluster.wait_ready(timeout=60.0)
        back = cluster.wait_topic(TOPIC, PARTITIONS, timeout=60.0)
        assert back == leaders, (back, leaders)
        print("broker %d back: leads %s again after %.1fs" % (victim, lost, time.monotonic() - t0))
        check(cluster, TOPIC, {p: expected[p] for p in lost})
        print("partitions %s: their %d messages each are intact" % (lost, N))

        after = {p: values(b"after", p, M) for p in lost}
        offsets = produce(cluster.bootstrap, TOPIC, after)
        for p in lost:
            assert offsets[p] == list(range(N, N + M)), (p, offsets[p])
            expected[p] += after[p]
        check(cluster, TOPIC, expected)
        print("every partition takes and gives messages again")
    print("ok")


if __name__ == "__main__":
    main()
