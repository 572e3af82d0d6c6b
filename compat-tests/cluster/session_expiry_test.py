"""A broker's ZooKeeper session expires while the process lives; it comes back without a restart.

Three brokers with zookeeper.session.timeout.ms=6000, a topic of 6 partitions with one replica
each. A broker other than the controller is paused (SIGSTOP) until ZooKeeper ends its session:
its /brokers/ids node goes, the others drop it from Metadata and its partitions lose their leader.
Resumed (SIGCONT), the same process (same PID) registers again on a new session: its
/brokers/ids node is back with a new owner and a later czxid (the broker epoch) and the same
endpoint, every broker lists it (Metadata and /v1/brokers), it leads its partitions again, and the
cluster converges: every partition has a live leader, takes messages and gives them all back.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cluster import (Cluster, ZooKeeperServer, consume, create_topic, produce,  # noqa: E402
                     require_zookeeper, wait_for)

TOPIC = "expiry"
PARTITIONS = 6
N = 60
SESSION_MS = 6000


def main():
    require_zookeeper()
    with ZooKeeperServer() as zk, \
            Cluster(3, zk, overrides={"zookeeper.session.timeout.ms": str(SESSION_MS)}) as cluster:
        kz = zk.client(cluster.chroot)
        try:
            run(cluster, kz)
        finally:
            kz.stop()
            kz.close()
    print("ok")


def run(cluster, kz):
    controller = cluster.agreed()
    create_topic(cluster.bootstrap, TOPIC, PARTITIONS, 1)
    leaders = cluster.wait_topic(TOPIC, PARTITIONS)
    victim = min(i for i in cluster.ids if i != controller)
    lost = sorted(p for p, leader in leaders.items() if leader == victim)
    assert lost, leaders
    expected = {p: [b"before-%d-%d" % (p, i) for i in range(N)] for p in range(PARTITIONS)}
    produce(cluster.bootstrap, TOPIC, expected)

    path = "/brokers/ids/%d" % victim
    data, stat = kz.get(path)
    registration = json.loads(data)
    assert stat.ephemeralOwner != 0, stat
    pid = cluster.brokers[victim].pid
    others = [i for i in cluster.ids if i != victim]

    paused_at = time.monotonic()
    cluster.kill(victim, signal.SIGSTOP)
    wait_for(lambda: kz.exists(path) is None, "%s to go with the paused broker's session" % path, 30.0)
    print("broker %d paused; its session expired and %s went after %.1fs (session timeout %.1fs)"
          % (victim, path, time.monotonic() - paused_at, SESSION_MS / 1000))

    def dropped():
        for md in cluster.views(others).values():
            parts = md.topics[TOPIC].partitions
            if set(md.brokers) != set(others) or any(parts[p].leader != -1 for p in lost):
                return False
        return True

    wait_for(dropped, "the other brokers to drop broker %d and its partitions' leadership" % victim, 30.0)
    print("brokers %s list only each other; partitions %s have no leader (%.1fs)"
          % (others, lost, time.monotonic() - paused_at))

    resumed_at = time.monotonic()
    cluster.kill(victim, signal.SIGCONT)

    def registered_again():
        stat_now = kz.exists(path)
        return stat_now is not None and stat_now.ephemeralOwner not in (0, stat.ephemeralOwner) and stat_now

    new_stat = wait_for(registered_again, "broker %d to register again" % victim, 60.0)
    print("broker %d registered again after %.1fs, on a new session" % (victim, time.monotonic() - resumed_at))
    assert cluster.brokers[victim].alive() and cluster.brokers[victim].pid == pid, "the broker was restarted"
    assert new_stat.czxid > stat.czxid, (new_stat.czxid, stat.czxid)  # a later broker epoch
    data, _ = kz.get(path)
    again = json.loads(data)
    assert again["endpoints"] == registration["endpoints"] and again["port"] == registration["port"], \
        (registration, again)

    cluster.wait_ready(timeout=60.0)  # Metadata and /v1/brokers on every broker list all three
    back = cluster.wait_topic(TOPIC, PARTITIONS, timeout=60.0)
    assert back == leaders, (back, leaders)
    print("every broker lists broker %d; it leads %s again (%.1fs after SIGCONT)"
          % (victim, lost, time.monotonic() - resumed_at))

    more = {p: [b"after-%d-%d" % (p, i) for i in range(N)] for p in range(PARTITIONS)}
    offsets = produce(cluster.bootstrap, TOPIC, more)
    for p in range(PARTITIONS):
        assert offsets[p] == list(range(N, 2 * N)), (p, offsets[p])
        expected[p] += more[p]
    got = consume(cluster.bootstrap, TOPIC, {p: 2 * N for p in range(PARTITIONS)})
    for p in range(PARTITIONS):
        assert [v for _, v in got[p]] == expected[p], "partition %d differs" % p
    print("the cluster converged: every partition led, written and read back exactly")


if __name__ == "__main__":
    main()
