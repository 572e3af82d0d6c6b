"""The newest confluent-kafka-python from PyPI (librdkafka bundled in its wheel), run from the venv
that scripts/deps.sh --test fills: the admin calls only recent releases offer, checked against exact
values, and the KIP-848 consumer group protocol (group.protocol=consumer).

Runs against whatever BOOTSTRAP names (a fresh broker from broker_process.py, or a shared cluster):
every topic and group name is unique to this run, and nothing assumes an empty cluster."""
import os
import socket
import struct
import sys
import time
import uuid

import confluent_kafka
from confluent_kafka import (Consumer, ConsumerGroupState, ConsumerGroupTopicPartitions, ConsumerGroupType,
                             ElectionType, IsolationLevel, KafkaError, KafkaException, Producer,
                             TopicCollection, TopicPartition)
from confluent_kafka.admin import (AclOperation, AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   ConfigSource, NewTopic, OffsetSpec, ResourceType)

HERE = os.path.dirname(os.path.abspath(__file__))
BOOTSTRAP = os.environ["BOOTSTRAP"]
RUN = uuid.uuid4().hex[:10]
TOPIC = "ckn-%s" % RUN
PLAIN_TOPIC = "ckn-plain-%s" % RUN
PARTITIONS = 3
COUNTS = {0: 10, 1: 20, 2: 30}
TS_STEP = 100


def pinned(name):
    with open(os.path.join(HERE, "requirements-newest.txt")) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if line.startswith(name + "=="):
                return line.split("==")[1]
    raise AssertionError("%s is not pinned" % name)


def result(future, timeout=30):
    return future.result(timeout=timeout)


def only(futures):
    """The one future of a result dict. (Not dict.popitem(): the client resolves the futures it finds
    in that same dict, so a popped one would never complete.)"""
    assert len(futures) == 1, futures
    return next(iter(futures.values()))


def wait_for(condition, what, limit=30.0, step=0.2):
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(step)


def advertised_versions(bootstrap):
    """ApiVersions v0 over a plain socket: {api_key: (min, max)} as the broker advertises them."""
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    client_id = b"ckn-probe"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", recv_exactly(s, 4))[0]
        data = recv_exactly(s, size)
    corr, err, n = struct.unpack(">ihi", data[:10])
    assert corr == 1 and err == 0, (corr, err)
    out = {}
    for i in range(n):
        key, lo, hi = struct.unpack(">hhh", data[10 + 6 * i:16 + 6 * i])
        out[key] = (lo, hi)
    return out


def recv_exactly(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        assert chunk, "connection closed"
        buf += chunk
    return buf


assert confluent_kafka.__version__ == pinned("confluent-kafka"), confluent_kafka.__version__
print("confluent-kafka %s, librdkafka %s" % (confluent_kafka.__version__, confluent_kafka.libversion()[0]))
admin = AdminClient({"bootstrap.servers": BOOTSTRAP})

# ---- Topics: one with an override, one without; records with known timestamps per partition.
for _, f in admin.create_topics([
        NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1, config={"retention.ms": "3600000"}),
        NewTopic(PLAIN_TOPIC, num_partitions=1, replication_factor=1)]).items():
    result(f)

base_ts = int(time.time() * 1000) - 60_000
acked = []
producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
for p, n in COUNTS.items():
    for i in range(n):
        producer.produce(TOPIC, value=b"%d-%d" % (p, i), partition=p, timestamp=base_ts + i * TS_STEP,
                         on_delivery=lambda err, msg: acked.append((err, msg.partition(), msg.offset())))
producer.poll(0)
assert producer.flush(60) == 0
assert all(err is None for err, _, _ in acked), [a for a in acked if a[0] is not None][:3]
assert sorted((p, o) for _, p, o in acked) == sorted((p, o) for p, n in COUNTS.items() for o in range(n))

# ---- describe_cluster: the cluster id Metadata reports, a controller among the nodes, and the node
# we bootstrapped from.
md = admin.list_topics(timeout=30)
cluster = result(admin.describe_cluster(include_authorized_operations=True))
assert cluster.cluster_id == md.cluster_id and cluster.cluster_id, (cluster.cluster_id, md.cluster_id)
node_ids = {n.id for n in cluster.nodes}
assert node_ids == set(md.brokers), (node_ids, md.brokers)
assert cluster.controller is not None and cluster.controller.id in node_ids, cluster.controller
bootstrap_ports = {int(a.rsplit(":", 1)[1]) for a in BOOTSTRAP.split(",")}
assert bootstrap_ports & {n.port for n in cluster.nodes}, ([(n.host, n.port) for n in cluster.nodes], BOOTSTRAP)
# Without an authorizer every cluster operation is allowed.
assert set(cluster.authorized_operations) == {
    AclOperation.CREATE, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CLUSTER_ACTION,
    AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE}, \
    cluster.authorized_operations

# ---- describe_topics: partitions, leaders, replicas, topic id, authorized operations.
desc = result(admin.describe_topics(TopicCollection([TOPIC]), include_authorized_operations=True)[TOPIC])
assert desc.name == TOPIC and desc.is_internal is False
assert desc.topic_id is not None and str(desc.topic_id) != "AAAAAAAAAAAAAAAAAAAAAA", desc.topic_id
assert [p.id for p in desc.partitions] == list(range(PARTITIONS)), desc.partitions
for p in desc.partitions:
    assert p.leader is not None and p.leader.id in node_ids, p.leader
    assert [r.id for r in p.replicas] == [p.leader.id], p.replicas
    assert [r.id for r in p.isr] == [p.leader.id], p.isr
assert set(desc.authorized_operations) == {
    AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE, AclOperation.ALTER,
    AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS}, desc.authorized_operations
missing = admin.describe_topics(TopicCollection(["ckn-absent-%s" % RUN]))["ckn-absent-%s" % RUN]
try:
    result(missing)
    raise AssertionError("describe_topics of an unknown topic succeeded")
except KafkaException as e:
    assert e.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART, e

# ---- list_offsets: earliest, latest, by timestamp, max timestamp; both isolation levels.
def list_offsets(spec_for, **kwargs):
    fs = admin.list_offsets({TopicPartition(TOPIC, p): spec_for(p) for p in COUNTS}, **kwargs)
    return {tp.partition: result(f) for tp, f in fs.items()}


for level in (IsolationLevel.READ_UNCOMMITTED, IsolationLevel.READ_COMMITTED):
    got = list_offsets(lambda p: OffsetSpec.earliest(), isolation_level=level)
    assert {p: r.offset for p, r in got.items()} == {p: 0 for p in COUNTS}, got
    got = list_offsets(lambda p: OffsetSpec.latest(), isolation_level=level)
    assert {p: r.offset for p, r in got.items()} == COUNTS, {p: r.offset for p, r in got.items()}
got = list_offsets(lambda p: OffsetSpec.for_timestamp(base_ts + 7 * TS_STEP))
assert {p: (r.offset, r.timestamp) for p, r in got.items()} == {p: (7, base_ts + 7 * TS_STEP) for p in COUNTS}, \
    {p: (r.offset, r.timestamp) for p, r in got.items()}
# Between two records: the first one at or after the time.
got = list_offsets(lambda p: OffsetSpec.for_timestamp(base_ts + 12 * TS_STEP - 1))
assert {p: r.offset for p, r in got.items()} == {0: -1, 1: 12, 2: 12}, {p: r.offset for p, r in got.items()}
got = list_offsets(lambda p: OffsetSpec.max_timestamp())
assert {p: (r.offset, r.timestamp) for p, r in got.items()} == \
    {p: (n - 1, base_ts + (n - 1) * TS_STEP) for p, n in COUNTS.items()}, \
    {p: (r.offset, r.timestamp) for p, r in got.items()}

# ---- Consumer groups: list (states and types filters), describe, offsets, delete.
GROUP = "ckn-group-%s" % RUN
consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": GROUP, "client.id": "ckn-member",
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "partition.assignment.strategy": "range"})
consumer.subscribe([TOPIC])
seen = {}
deadline = time.monotonic() + 60
while sum(len(v) for v in seen.values()) < sum(COUNTS.values()):
    assert time.monotonic() < deadline, {p: len(v) for p, v in seen.items()}
    m = consumer.poll(0.2)
    if m is None:
        continue
    assert m.error() is None, m.error()
    seen.setdefault(m.partition(), []).append(m.offset())
assert seen == {p: list(range(n)) for p, n in COUNTS.items()}, {p: len(v) for p, v in seen.items()}
consumer.commit(asynchronous=False)


def listed(**kwargs):
    res = result(admin.list_consumer_groups(**kwargs))
    assert not res.errors, res.errors
    return {g.group_id: g for g in res.valid}


stable = wait_for(lambda: listed(states={ConsumerGroupState.STABLE}).get(GROUP), "the group listed as Stable")
assert stable.state == ConsumerGroupState.STABLE and stable.is_simple_consumer_group is False, vars(stable)
assert stable.type == ConsumerGroupType.CLASSIC, stable.type
assert GROUP not in listed(states={ConsumerGroupState.EMPTY})
assert GROUP in listed(types={ConsumerGroupType.CLASSIC})
assert GROUP not in listed(types={ConsumerGroupType.CONSUMER})

group = result(admin.describe_consumer_groups([GROUP], include_authorized_operations=True)[GROUP])
assert group.group_id == GROUP and group.state == ConsumerGroupState.STABLE, group.state
assert group.is_simple_consumer_group is False and group.partition_assignor == "range", group.partition_assignor
assert group.type == ConsumerGroupType.CLASSIC, group.type
assert group.coordinator is not None and group.coordinator.id in node_ids, group.coordinator
assert len(group.members) == 1 and group.members[0].client_id == "ckn-member", group.members
assert sorted((tp.topic, tp.partition) for tp in group.members[0].assignment.topic_partitions) == \
    [(TOPIC, p) for p in range(PARTITIONS)], group.members[0].assignment.topic_partitions
assert set(group.authorized_operations) == {AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE}, \
    group.authorized_operations

# A group with a member cannot be deleted.
try:
    result(admin.delete_consumer_groups([GROUP])[GROUP])
    raise AssertionError("deleted a group with an active member")
except KafkaException as e:
    assert e.args[0].code() == KafkaError.NON_EMPTY_GROUP, e
consumer.close()

empty = result(admin.describe_consumer_groups([GROUP])[GROUP])
assert empty.state == ConsumerGroupState.EMPTY and empty.members == [], (empty.state, empty.members)
assert GROUP in listed(states={ConsumerGroupState.EMPTY})


def group_offsets():
    res = result(admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(GROUP)])[GROUP])
    assert res.group_id == GROUP
    return {(tp.topic, tp.partition): tp.offset for tp in res.topic_partitions}


assert group_offsets() == {(TOPIC, p): n for p, n in COUNTS.items()}, group_offsets()
altered = result(admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(
    GROUP, [TopicPartition(TOPIC, 0, 3), TopicPartition(TOPIC, 2, 25)])])[GROUP])
assert sorted((tp.partition, tp.offset, tp.error) for tp in altered.topic_partitions) == \
    [(0, 3, None), (2, 25, None)], altered.topic_partitions
assert group_offsets() == {(TOPIC, 0): 3, (TOPIC, 1): 20, (TOPIC, 2): 25}, group_offsets()
# Only the partitions asked for.
res = result(admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(GROUP, [TopicPartition(TOPIC, 1)])])
             [GROUP])
assert [(tp.partition, tp.offset) for tp in res.topic_partitions] == [(1, 20)], res.topic_partitions

# A new member resumes at the altered offsets (partition 1 is committed at its end: nothing to read).
resumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": GROUP, "enable.auto.commit": False})
resumer.subscribe([TOPIC])
resumed = {}
deadline = time.monotonic() + 60
while sum(len(v) for v in resumed.values()) < (COUNTS[0] - 3) + (COUNTS[2] - 25):
    assert time.monotonic() < deadline, resumed
    m = resumer.poll(0.2)
    if m is not None and m.error() is None:
        resumed.setdefault(m.partition(), []).append(m.offset())
assert resumed == {0: list(range(3, COUNTS[0])), 2: list(range(25, COUNTS[2]))}, resumed
assert sorted(tp.partition for tp in resumer.assignment()) == list(range(PARTITIONS))
resumer.close()

assert result(admin.delete_consumer_groups([GROUP])[GROUP]) is None
assert GROUP not in listed()
try:
    result(admin.delete_consumer_groups([GROUP])[GROUP])
    raise AssertionError("deleted a group twice")
except KafkaException as e:
    assert e.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND, e
gone = result(admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(GROUP)])[GROUP])
assert gone.topic_partitions == [], gone.topic_partitions

# ---- incremental_alter_configs: SET, APPEND, DELETE; describe_configs shows values and sources.
def topic_config(topic):
    return result(only(admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)])))


default_retention = topic_config(PLAIN_TOPIC)["retention.ms"]
assert default_retention.source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value, default_retention
cfg = topic_config(TOPIC)
assert cfg["retention.ms"].value == "3600000" and cfg["retention.ms"].source == \
    ConfigSource.DYNAMIC_TOPIC_CONFIG.value, cfg["retention.ms"]

changes = ConfigResource(ResourceType.TOPIC, TOPIC, incremental_configs=[
    ConfigEntry("max.message.bytes", "500000", incremental_operation=AlterConfigOpType.SET),
    ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
    ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
for _, f in admin.incremental_alter_configs([changes]).items():
    assert result(f) is None
cfg = topic_config(TOPIC)
assert (cfg["max.message.bytes"].value, cfg["max.message.bytes"].source) == \
    ("500000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value), cfg["max.message.bytes"]
assert cfg["cleanup.policy"].value == "delete,compact", cfg["cleanup.policy"]
assert (cfg["retention.ms"].value, cfg["retention.ms"].source) == \
    (default_retention.value, default_retention.source), cfg["retention.ms"]
# SUBTRACT takes compact away again; APPEND on a non-list config is refused.
for _, f in admin.incremental_alter_configs([ConfigResource(ResourceType.TOPIC, TOPIC, incremental_configs=[
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SUBTRACT)])]).items():
    result(f)
assert topic_config(TOPIC)["cleanup.policy"].value == "delete"
try:
    for _, f in admin.incremental_alter_configs([ConfigResource(ResourceType.TOPIC, TOPIC, incremental_configs=[
            ConfigEntry("retention.ms", "5", incremental_operation=AlterConfigOpType.APPEND)])]).items():
        result(f)
    raise AssertionError("APPEND on retention.ms succeeded")
except KafkaException as e:
    # INVALID_REQUEST as a ZooKeeper-mode broker answers (this broker, Kafka 3.9 with ZooKeeper);
    # Kafka's KRaft controller answers INVALID_CONFIG.
    assert e.args[0].code() in (KafkaError.INVALID_REQUEST, KafkaError.INVALID_CONFIG), e
assert topic_config(TOPIC)["retention.ms"].value == default_retention.value

# ---- delete_records: a given offset, and -1 (up to the high watermark); then list_offsets agrees.
fs = admin.delete_records([TopicPartition(TOPIC, 0, 4), TopicPartition(TOPIC, 1, -1)])
low = {tp.partition: result(f).low_watermark for tp, f in fs.items()}
assert low == {0: 4, 1: COUNTS[1]}, low
got = list_offsets(lambda p: OffsetSpec.earliest())
assert {p: r.offset for p, r in got.items()} == {0: 4, 1: COUNTS[1], 2: 0}, got
try:
    result(only(admin.delete_records([TopicPartition(TOPIC, 2, COUNTS[2] + 1)])))
    raise AssertionError("delete_records past the high watermark succeeded")
except KafkaException as e:
    assert e.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE, e

# ---- elect_leaders: with one replica per partition, every leader is already the preferred one.
elected = result(admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition(TOPIC, p) for p in COUNTS]))
assert {tp.partition: (err.code() if err else None) for tp, err in elected.items()} == \
    {p: KafkaError.ELECTION_NOT_NEEDED for p in COUNTS}, elected

# ---- describe_user_scram_credentials, where the broker serves DescribeUserScramCredentials (key 50).
versions = advertised_versions(BOOTSTRAP)
if 50 in versions:
    user = "ckn-user-%s" % RUN
    try:
        result(admin.describe_user_scram_credentials([user])[user])
        raise AssertionError("an unknown user has SCRAM credentials")
    except KafkaException as e:
        assert e.args[0].code() == KafkaError.RESOURCE_NOT_FOUND, e
    print("describe_user_scram_credentials: RESOURCE_NOT_FOUND for an unknown user")
else:
    print("describe_user_scram_credentials: skipped (the broker does not serve DescribeUserScramCredentials)")

# ---- group.protocol=consumer (KIP-848). librdkafka needs ConsumerGroupHeartbeat (key 68) v1.
NEW_GROUP = "ckn-848-%s" % RUN
logs = []


class Collect:
    def log(self, level, fmt, *args):
        logs.append(fmt % args if args else fmt)

    def __getattr__(self, name):
        return self.log


new = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": NEW_GROUP, "group.protocol": "consumer",
                "auto.offset.reset": "earliest", "enable.auto.commit": False, "debug": "cgrp",
                "logger": Collect(), "error_cb": lambda e: logs.append("error_cb: %s %s" % (e.name(), e.str()))})
new.subscribe([PLAIN_TOPIC])
heartbeat = versions.get(68)
if heartbeat is None or heartbeat[1] < 1:
    # Not served: librdkafka marks the coordinator unusable with _UNSUPPORTED_FEATURE and retries; the
    # member never joins, gets no assignment and no records, and no error reaches poll() or error_cb.
    unsupported = KafkaError(KafkaError._UNSUPPORTED_FEATURE).str()
    expected = "%s: ConsumerGroupHeartbeatRequest not supported by broker" % unsupported
    deadline = time.monotonic() + 30
    got_records = []
    while not any(expected in line for line in logs):
        assert time.monotonic() < deadline, "no %r in the client's log:\n%s" % (expected, "\n".join(logs[-30:]))
        m = new.poll(0.2)
        if m is not None:
            got_records.append(m)
    settle = time.monotonic() + 3
    while time.monotonic() < settle:
        m = new.poll(0.2)
        if m is not None:
            got_records.append(m)
    assert got_records == [], [(m.error(), m.value()) for m in got_records[:3]]
    assert new.assignment() == [], new.assignment()
    assert not any(line.startswith("error_cb") for line in logs), [l for l in logs if l.startswith("error_cb")]
    print("group.protocol=consumer: %s (%s, %d)" % (expected, KafkaError(KafkaError._UNSUPPORTED_FEATURE).name(),
                                                    KafkaError._UNSUPPORTED_FEATURE))
else:
    # Served: the member gets the partition and reads what the classic member below also reads.
    producer.produce(PLAIN_TOPIC, value=b"for-848")
    assert producer.flush(30) == 0
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline, "\n".join(logs[-30:])
        m = new.poll(0.2)
        if m is not None:
            assert m.error() is None, m.error()
            break
    assert (m.partition(), m.offset(), m.value()) == (0, 0, b"for-848")
new.close()

# A classic member on the same broker still joins, reads, and commits.
producer.produce(PLAIN_TOPIC, value=b"classic-0")
producer.produce(PLAIN_TOPIC, value=b"classic-1")
assert producer.flush(30) == 0
classic = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "ckn-classic-%s" % RUN, "group.protocol": "classic",
                    "auto.offset.reset": "earliest", "enable.auto.commit": False})
classic.subscribe([PLAIN_TOPIC])
values = []
want = [b"for-848"] if heartbeat is not None and heartbeat[1] >= 1 else []
want += [b"classic-0", b"classic-1"]
deadline = time.monotonic() + 60
while len(values) < len(want):
    assert time.monotonic() < deadline, values
    m = classic.poll(0.2)
    if m is not None:
        assert m.error() is None, m.error()
        values.append(m.value())
assert values == want, values
assert [tp.partition for tp in classic.assignment()] == [0]
classic.commit(asynchronous=False)
committed = classic.committed([TopicPartition(PLAIN_TOPIC, 0)], timeout=30)
assert committed[0].offset == len(want), committed
classic.close()

for _, f in admin.delete_topics([TOPIC, PLAIN_TOPIC]).items():
    result(f)
print("ok")
