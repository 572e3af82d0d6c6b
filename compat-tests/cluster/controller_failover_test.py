"""The controller dies (SIGKILL); another broker takes over.

Three brokers with zookeeper.session.timeout.ms=6000. Once the controller is killed, its ZooKeeper
session expires and /controller goes with it: within 10 s of the kill both remaining brokers name
the same new controller among themselves (in Metadata, and on /v1/brokers), and then list only
each other. A topic is created and deleted through each remaining broker (kafka-python, bootstrap
that broker alone: the client sends both to the controller); the new topic's partitions are led by
live brokers only. The killed broker, started again, rejoins as a follower: the controller stays.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cluster import Cluster, ZooKeeperServer, require_zookeeper, wait_for  # noqa: E402

FAILOVER_BOUND = 10.0  # seconds from the kill to a new controller


def named_controller(cluster, ids):
    """The controller every broker of `ids` names (Metadata and /v1/brokers), if they agree on one
    of `ids`; else None. (Broker ids start at 1, so an id is true.)"""
    named = {cluster.metadata(i).controller_id for i in ids}
    if cluster.has_http:
        named |= {cluster.http_brokers(i)["controller_id"] for i in ids}
    if len(named) == 1 and next(iter(named)) in ids:
        return named.pop()
    return None


def create_and_delete_through(cluster, via, live):
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    topic = "made-via-%d" % via
    admin = KafkaAdminClient(bootstrap_servers=cluster.address(via), client_id="failover-%d" % via,
                             request_timeout_ms=15000)
    try:
        t0 = time.monotonic()
        admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)], timeout_ms=15000)
        leaders = cluster.wait_topic(topic, 4)
        assert set(leaders.values()) <= set(live), leaders
        created = time.monotonic() - t0
        admin.delete_topics([topic], timeout_ms=15000)
        wait_for(lambda: all(topic not in md.topics for md in cluster.views().values()),
                 "%s to disappear from every live broker's metadata" % topic, 30.0)
        print("through broker %d: %s created (leaders %s) in %.1fs, deleted in %.1fs"
              % (via, topic, leaders, created, time.monotonic() - t0 - created))
    finally:
        admin.close()


def main():
    require_zookeeper()
    with ZooKeeperServer() as zk, Cluster(3, zk, overrides={"zookeeper.session.timeout.ms": "6000"}) as cluster:
        old = cluster.agreed()
        remaining = [i for i in cluster.ids if i != old]
        killed_at = time.monotonic()
        cluster.kill(old, signal.SIGKILL)
        new = wait_for(lambda: named_controller(cluster, remaining),
                       "a new controller among %s" % remaining, FAILOVER_BOUND - (time.monotonic() - killed_at))
        print("controller %d killed; broker %d is controller after %.1fs (session timeout 6.0s)"
              % (old, new, time.monotonic() - killed_at))
        cluster.wait_ready(expected_ids=remaining, timeout=30.0)
        assert cluster.agreed(remaining) == new
        print("both remaining brokers list only %s after %.1fs" % (remaining, time.monotonic() - killed_at))

        for via in remaining:
            create_and_delete_through(cluster, via, remaining)

        t0 = time.monotonic()
        cluster.restart(old)
        cluster.wait_ready(timeout=60.0)
        assert cluster.agreed() == new, "the controller moved when broker %d came back" % old
        print("broker %d back after %.1fs; broker %d is still controller" % (old, time.monotonic() - t0, new))
    print("ok")


if __name__ == "__main__":
    main()
