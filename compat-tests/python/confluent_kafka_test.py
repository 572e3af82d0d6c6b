"""confluent-kafka-python (Debian's python3-confluent-kafka over librdkafka): idempotent producer with
every compression codec, and admin calls."""
import os

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

bootstrap = os.environ["BOOTSTRAP"]
admin = AdminClient({"bootstrap.servers": bootstrap})

codecs = ["none", "gzip", "snappy", "lz4", "zstd"]
fs = admin.create_topics([NewTopic("ck-" + c, num_partitions=2, replication_factor=1) for c in codecs])
for t, f in fs.items():
    f.result(timeout=30)

for codec in codecs:
    topic = "ck-" + codec
    errors = []
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "compression.codec": codec,
                  "linger.ms": 10})
    for i in range(3000):
        p.produce(topic, key=str(i % 10).encode(), value=("%s-%d-" % (codec, i)).encode() * 5,
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
        p.poll(0)
    assert p.flush(60) == 0, codec
    assert not errors, (codec, errors[:3])

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "ck-assign", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0), TopicPartition(topic, 1, 0)])
    seen = []
    for _ in range(400):
        if len(seen) >= 3000:
            break
        for m in c.consume(num_messages=1000, timeout=0.5):
            assert m.error() is None, m.error()
            seen.append(m.value())
    c.close()
    assert len(seen) == 3000, (codec, len(seen))
    assert sorted(seen) == sorted(("%s-%d-" % (codec, i)).encode() * 5 for i in range(3000)), codec

# Admin: partitions, configs, deletion.
for t, f in admin.create_partitions([NewPartitions("ck-none", 5)]).items():
    f.result(timeout=30)
md = admin.list_topics(timeout=10)
assert len(md.topics["ck-none"].partitions) == 5
res = ConfigResource(ConfigResource.Type.TOPIC, "ck-gzip")
for r, f in admin.describe_configs([res]).items():
    cfg = f.result(timeout=30)
    assert cfg["cleanup.policy"].value == "delete"
    assert cfg["retention.ms"].value == "604800000"
res = ConfigResource(ConfigResource.Type.TOPIC, "ck-gzip", set_config={"retention.ms": "1000000"})
for r, f in admin.alter_configs([res]).items():
    f.result(timeout=30)
for r, f in admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "ck-gzip")]).items():
    assert f.result(timeout=30)["retention.ms"].value == "1000000"
broker_res = ConfigResource(ConfigResource.Type.BROKER, "0")
for r, f in admin.describe_configs([broker_res]).items():
    cfg = f.result(timeout=30)
    assert cfg["num.partitions"].value == "1", cfg["num.partitions"]
for t, f in admin.delete_topics(["ck-lz4"]).items():
    f.result(timeout=30)
assert "ck-lz4" not in admin.list_topics(timeout=10).topics
print("ok")
