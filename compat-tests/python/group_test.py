"""confluent-kafka-python (librdkafka) consumer groups: two members share a 4-partition topic 2+2;
when one leaves, the other takes all 4; committed offsets survive a broker restart after SIGTERM
and after SIGKILL, and a new member of the group resumes exactly at them (nothing consumed twice
past the last commit, nothing lost). Against the shared reference Kafka (COMPAT_TARGET=kafka), which
cannot be restarted, a new member resumes at the commits without the restarts."""
import signal
import time

from broker_process import BrokerProcess, targets_kafka
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

TOPIC = "grp"
PARTITIONS = 4
PER_PARTITION = 100
GROUP = "ck-group"


def produce(bootstrap):
    acked = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(PARTITIONS * PER_PARTITION):
        p.produce(TOPIC, value=b"%d" % i, partition=i % PARTITIONS,
                  on_delivery=lambda err, msg: acked.append(msg.offset()) if err is None else None)
        p.poll(0)
    assert p.flush(60) == 0
    assert len(acked) == PARTITIONS * PER_PARTITION, len(acked)


def new_consumer(bootstrap, name):
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": GROUP,
        "client.id": name,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 300,
        "partition.assignment.strategy": "range",
    })


class Member:
    """One group member: its consumer, what it was assigned, and what it consumed per partition."""

    def __init__(self, bootstrap, name):
        self.consumer = new_consumer(bootstrap, name)
        self.assigned = set()
        self.seen = {}  # partition -> list of offsets

        def on_assign(consumer, partitions):
            self.assigned = {tp.partition for tp in partitions}

        def on_revoke(consumer, partitions):
            self.assigned = set()

        self.consumer.subscribe([TOPIC], on_assign=on_assign, on_revoke=on_revoke)

    def poll(self):
        m = self.consumer.poll(0.1)
        if m is None:
            return
        if m.error() is not None:
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            return
        self.seen.setdefault(m.partition(), []).append(m.offset())

    def commit(self, offsets):
        self.consumer.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in offsets.items()],
                             asynchronous=False)

    def close(self):
        self.consumer.close()


def poll_until(members, condition, what, limit=60.0):
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        for m in members:
            m.poll()


def resume_and_check(bootstrap, expected_start):
    """A fresh member takes every partition and must start exactly at `expected_start`."""
    m = Member(bootstrap, "resumer")
    poll_until([m], lambda: len(m.assigned) == PARTITIONS, "the resumer's assignment")
    committed = m.consumer.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=10)
    assert {tp.partition: tp.offset for tp in committed} == {p: expected_start for p in range(PARTITIONS)}, \
        committed
    want = PER_PARTITION - expected_start
    poll_until([m], lambda: all(len(m.seen.get(p, [])) >= want for p in range(PARTITIONS)),
               "the resumer's messages")
    for p in range(PARTITIONS):
        assert m.seen[p] == list(range(expected_start, PER_PARTITION)), (p, m.seen[p][:5])
    return m


broker = BrokerProcess()
try:
    broker.start()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for _, f in admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1)]).items():
        f.result(timeout=30)
    produce(broker.bootstrap)

    # Two members share the partitions 2 + 2.
    a = Member(broker.bootstrap, "member-a")
    b = Member(broker.bootstrap, "member-b")
    poll_until([a, b], lambda: len(a.assigned) == 2 and len(b.assigned) == 2, "a 2+2 assignment")
    assert a.assigned | b.assigned == set(range(PARTITIONS)), (a.assigned, b.assigned)
    poll_until([a, b], lambda: all(len(a.seen.get(p, [])) >= PER_PARTITION for p in a.assigned)
               and all(len(b.seen.get(p, [])) >= PER_PARTITION for p in b.assigned), "2+2 consumption")
    a.commit({p: 50 for p in a.assigned})
    b.commit({p: 50 for p in b.assigned})

    # One member leaves: the other gets all four partitions and resumes at the commits.
    b.close()
    a.seen = {}
    poll_until([a], lambda: len(a.assigned) == PARTITIONS, "the survivor's assignment")
    poll_until([a], lambda: all(len(a.seen.get(p, [])) >= 50 for p in range(PARTITIONS)),
               "the survivor's messages")
    for p in range(PARTITIONS):
        assert a.seen[p][0] == 50, (p, a.seen[p][:3])
    a.commit({p: 60 for p in range(PARTITIONS)})
    a.close()

    if targets_kafka():
        c = resume_and_check(broker.bootstrap, 60)
        c.close()
        print("the restarts after SIGTERM and SIGKILL skipped: the reference Kafka is shared")
    else:
        # Clean restart: the offsets (and the group) come back.
        assert broker.stop(signal.SIGTERM) == 0, broker.output()
        broker.start()
        c = resume_and_check(broker.bootstrap, 60)
        c.commit({p: 80 for p in range(PARTITIONS)})
        c.close()

        # Crash: committed offsets were acknowledged after the write, so they survive SIGKILL.
        broker.stop(signal.SIGKILL)
        broker.start()
        d = resume_and_check(broker.bootstrap, 80)
        d.close()
        assert broker.stop(signal.SIGTERM) == 0, broker.output()
    print("ok")
except BaseException:
    print(broker.output()[-20000:])
    raise
finally:
    broker.stop(signal.SIGKILL)
    broker.cleanup()
