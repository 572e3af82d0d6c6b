"""Three brokers on one ZooKeeper, as four stock clients see them.

kcat -L, kafka-python, confluent-kafka and kafkajs each list the three brokers (their own
addresses) and the same controller. A topic of 12 partitions, replication factor 1, is spread by
Kafka's round robin: each broker leads 4, and partition p's leader is partition p+3's. Every
partition takes messages from confluent-kafka and then from kafkajs, and gives them back, exact in
count, offset and value, to confluent-kafka (assigned partitions) and to a kafkajs group. Each
partition's directory exists only in its leader's log.dirs.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cluster import NODE_PATH, Cluster, ZooKeeperServer, consume, create_topic, produce, require_zookeeper  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOPIC = "spread"
PARTITIONS = 12
PER_CLIENT = 50  # messages per partition from each producing client


def node(*args, timeout=120):
    env = dict(os.environ)
    env.setdefault("NODE_PATH", NODE_PATH)
    out = subprocess.run(["node", os.path.join(HERE, "kafkajs_client.js")] + [str(a) for a in args], env=env,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, "kafkajs %s failed (%d):\n%s%s" % (args[0], out.returncode, out.stdout, out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_clients_see_cluster(cluster, ids, controller):
    # kcat (librdkafka 2.0.2), its JSON metadata listing.
    out = subprocess.run(["kcat", "-L", "-J", "-b", cluster.bootstrap], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    md = json.loads(out.stdout)
    assert sorted(b["id"] for b in md["brokers"]) == ids, md
    for b in md["brokers"]:
        assert b["name"] == cluster.address(b["id"]), md
    assert md["controllerid"] == controller, md
    print("kcat -L: brokers %s, controller %d" % (ids, md["controllerid"]))

    # kafka-python 2.0.2.
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, client_id="cluster-kafka-python",
                             request_timeout_ms=15000)
    try:
        described = admin.describe_cluster()
    finally:
        admin.close()
    assert sorted(b["node_id"] for b in described["brokers"]) == ids, described
    for b in described["brokers"]:
        assert "%s:%d" % (b["host"], b["port"]) == cluster.address(b["node_id"]), described
    assert described["controller_id"] == controller, described
    print("kafka-python: brokers %s, controller %d" % (ids, described["controller_id"]))

    # confluent-kafka.
    from confluent_kafka.admin import AdminClient
    listed = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=15)
    assert sorted(listed.brokers) == ids, listed.brokers
    for i, b in listed.brokers.items():
        assert "%s:%d" % (b.host, b.port) == cluster.address(i), listed.brokers
    assert listed.controller_id == controller, listed.controller_id
    print("confluent-kafka: brokers %s, controller %d" % (ids, listed.controller_id))

    # kafkajs.
    described = node("describe", cluster.bootstrap)
    assert described["brokers"] == ids and described["controller"] == controller, described
    print("kafkajs: brokers %s, controller %d" % (ids, described["controller"]))


def main():
    require_zookeeper()
    with ZooKeeperServer() as zk, Cluster(3, zk, overrides={
            # The group below (kafkajs) makes __consumer_offsets; this test is about spreading
            # partitions, not about replicating them.
            "offsets.topic.replication.factor": "1"}) as cluster:
        ids = cluster.ids
        controller = cluster.agreed()
        assert controller in ids, controller
        check_clients_see_cluster(cluster, ids, controller)

        t0 = time.monotonic()
        create_topic(cluster.bootstrap, TOPIC, PARTITIONS, 1)
        leaders = cluster.wait_topic(TOPIC, PARTITIONS)
        print("topic %s: %d partitions led on every broker after %.1fs: %s"
              % (TOPIC, PARTITIONS, time.monotonic() - t0, leaders))
        for md in cluster.views().values():
            for p, m in md.topics[TOPIC].partitions.items():
                assert m.replicas == [m.leader] and m.isr == [m.leader], (p, m)
        # Kafka's round robin over the live brokers: every broker leads the same number, and the
        # pattern repeats every three partitions (whatever the start index).
        counts = {i: sum(1 for leader in leaders.values() if leader == i) for i in ids}
        assert counts == {i: PARTITIONS // 3 for i in ids}, counts
        assert len({leaders[0], leaders[1], leaders[2]}) == 3, leaders
        for p in range(3, PARTITIONS):
            assert leaders[p] == leaders[p - 3], leaders

        # Produce: confluent-kafka first, then kafkajs, to every partition.
        t0 = time.monotonic()
        expected = {p: [b"c-%d-%d" % (p, i) for i in range(PER_CLIENT)] for p in range(PARTITIONS)}
        offsets = produce(cluster.bootstrap, TOPIC, expected)
        for p in range(PARTITIONS):
            assert offsets[p] == list(range(PER_CLIENT)), (p, offsets[p])
        acked = node("produce", cluster.bootstrap, TOPIC, PARTITIONS, PER_CLIENT, "j")["acked"]
        for p in range(PARTITIONS):
            assert acked[str(p)] == list(range(PER_CLIENT, 2 * PER_CLIENT)), (p, acked[str(p)])
            expected[p] += [b"j-%d-%d" % (p, i) for i in range(PER_CLIENT)]
        print("produced %d messages (confluent-kafka, kafkajs) in %.1fs"
              % (2 * PER_CLIENT * PARTITIONS, time.monotonic() - t0))

        # Consume: confluent-kafka, each partition assigned from offset 0.
        t0 = time.monotonic()
        got = consume(cluster.bootstrap, TOPIC, {p: 2 * PER_CLIENT for p in range(PARTITIONS)})
        for p in range(PARTITIONS):
            assert [o for o, _ in got[p]] == list(range(2 * PER_CLIENT)), p
            assert [v for _, v in got[p]] == expected[p], p
        # kafkajs, as a group member.
        values = node("consume", cluster.bootstrap, TOPIC, "spread-readers", 2 * PER_CLIENT * PARTITIONS,
                      90000)["values"]
        assert sorted(int(p) for p in values) == list(range(PARTITIONS)), sorted(values)
        for p in range(PARTITIONS):
            assert [v.encode() for v in values[str(p)]] == expected[p], p
        print("consumed every message back (confluent-kafka, kafkajs group) in %.1fs" % (time.monotonic() - t0))

        # Each partition's data lives in its leader's log.dirs only.
        for p in range(PARTITIONS):
            for i in ids:
                path = os.path.join(cluster.data_dir(i), "%s-%d" % (TOPIC, p))
                if i == leaders[p]:
                    segment = os.path.join(path, "%020d.log" % 0)
                    assert os.path.getsize(segment) > 0, segment
                else:
                    assert not os.path.exists(path), "%s exists on broker %d, which does not lead it" % (path, i)
        print("partition directories: each only in its leader's log.dirs")
    print("ok")


if __name__ == "__main__":
    main()
