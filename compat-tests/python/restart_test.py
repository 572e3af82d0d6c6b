"""Acknowledged messages survive a broker restart, after SIGTERM (clean) and after SIGKILL (crash)."""
import signal

from broker_process import BrokerProcess, skip, targets_kafka
from confluent_kafka import Consumer, Producer, TopicPartition


def produce(bootstrap, topic, start, count):
    acked = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 2})
    for i in range(start, start + count):
        p.produce(topic, value=b"m%d" % i, partition=i % 3,
                  on_delivery=lambda err, msg: acked.append(msg.value()) if err is None else None)
        p.poll(0)
    assert p.flush(60) == 0
    return acked


def consume_all(bootstrap, topic, expected):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "restart-check", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(3)])
    seen = []
    for _ in range(400):
        if len(seen) >= expected:
            break
        for m in c.consume(num_messages=1000, timeout=0.5):
            assert m.error() is None, m.error()
            seen.append(m.value())
    c.close()
    return seen


if targets_kafka():
    skip("restarts and kills the broker (SIGTERM, SIGKILL); the reference Kafka is shared")
broker = BrokerProcess(overrides={"num.partitions": "3"})
try:
    broker.start()
    acked = produce(broker.bootstrap, "durable", 0, 5000)
    assert len(acked) == 5000
    assert broker.stop(signal.SIGTERM) == 0, broker.output()

    broker.start()
    seen = consume_all(broker.bootstrap, "durable", len(acked))
    assert sorted(seen) == sorted(acked), (len(seen), len(acked))
    acked += produce(broker.bootstrap, "durable", 5000, 5000)
    broker.stop(signal.SIGKILL)

    broker.start()
    seen = consume_all(broker.bootstrap, "durable", len(acked))
    assert sorted(seen) == sorted(acked), (len(seen), len(acked))
    assert broker.stop(signal.SIGTERM) == 0
    print("ok")
except BaseException:
    print(broker.output()[-20000:])
    raise
finally:
    broker.stop(signal.SIGKILL)
    broker.cleanup()
