"""kafka-python (Debian's python3-kafka 2.0.2): admin create/delete topic, acks=all producer with gzip,
consumer by assign, beginning/end offsets and offsets for times."""
import os
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

bootstrap = os.environ["BOOTSTRAP"]

admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
admin.create_topics([NewTopic("kp-topic", num_partitions=2, replication_factor=1),
                     NewTopic("kp-doomed", num_partitions=1, replication_factor=1)])
try:
    admin.create_topics([NewTopic("kp-topic", num_partitions=2, replication_factor=1)])
    raise AssertionError("creating an existing topic must fail")
except TopicAlreadyExistsError:
    pass
assert {"kp-topic", "kp-doomed"} <= set(admin.list_topics()), admin.list_topics()
admin.delete_topics(["kp-doomed"])
deadline = time.monotonic() + 10
while "kp-doomed" in admin.list_topics() and time.monotonic() < deadline:
    time.sleep(0.1)
assert "kp-doomed" not in admin.list_topics()

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type="gzip", linger_ms=5)
base_ts = 1600000000000
futures = []
for i in range(1000):
    futures.append(producer.send("kp-topic", key=b"k%d" % i, value=b"value-%d" % i, partition=i % 2,
                                 timestamp_ms=base_ts + i))
producer.flush(30)
for f in futures:
    md = f.get(timeout=10)
    assert md.offset >= 0
producer.close()

tps = [TopicPartition("kp-topic", 0), TopicPartition("kp-topic", 1)]
consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10000)
consumer.assign(tps)
consumer.seek_to_beginning()
got = {0: [], 1: []}
deadline = time.monotonic() + 60
while sum(len(v) for v in got.values()) < 1000 and time.monotonic() < deadline:
    for tp, msgs in consumer.poll(timeout_ms=500).items():
        got[tp.partition].extend(msgs)
assert len(got[0]) == 500 and len(got[1]) == 500, {k: len(v) for k, v in got.items()}
for p in (0, 1):
    for n, m in enumerate(got[p]):
        i = 2 * n + p
        assert m.offset == n, (p, n, m.offset)
        assert m.key == b"k%d" % i and m.value == b"value-%d" % i, m
        assert m.timestamp == base_ts + i, m

assert consumer.beginning_offsets(tps) == {tps[0]: 0, tps[1]: 0}
assert consumer.end_offsets(tps) == {tps[0]: 500, tps[1]: 500}
times = consumer.offsets_for_times({tps[0]: base_ts + 100, tps[1]: base_ts + 10**9})
assert times[tps[0]].offset == 50, times
assert times[tps[1]] is None, times
consumer.close()
admin.close()
print("ok")
