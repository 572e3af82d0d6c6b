"""aiokafka (pure-Python asyncio client, from PyPI into the venv that scripts/deps.sh --test fills):
the producer with acks 0, 1 and all and every codec it offers, the idempotent producer, a consumer
group whose two members split a topic and whose commits a later member resumes from exactly, and the
admin client (topics with configs, describe/alter configs, partitions, groups, delete records).

Runs against whatever BOOTSTRAP names (a fresh broker from broker_process.py, or a shared cluster):
every topic and group name is unique to this run, and nothing assumes an empty cluster."""
import asyncio
import os
import struct
import time
import uuid

import aiokafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import InvalidPartitionsError, OffsetOutOfRangeError

HERE = os.path.dirname(os.path.abspath(__file__))
BOOTSTRAP = os.environ["BOOTSTRAP"]
RUN = uuid.uuid4().hex[:10]
CODECS = ["gzip", "snappy", "lz4", "zstd"]
CODEC_IDS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}  # record batch attributes, bits 0-2
ERR_TOPIC_ALREADY_EXISTS = 36
ERR_INVALID_CONFIG = 40
SOURCE_DYNAMIC_TOPIC = 1
LIMIT = 60  # seconds for any one wait


def name(kind):
    return "aio-%s-%s" % (kind, RUN)


def pinned(package):
    with open(os.path.join(HERE, "requirements-newest.txt")) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if line.startswith(package + "=="):
                return line.split("==")[1]
    raise AssertionError("%s is not pinned" % package)


async def eventually(probe, what, limit=LIMIT):
    """Polls the coroutine function `probe` until it returns something true (propagation on a cluster)."""
    deadline = time.monotonic() + limit
    while True:
        value = await probe()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting for " + what
        await asyncio.sleep(0.2)


async def read_all(topic, partitions, expected, **kwargs):
    """Reads `expected` records from the start of the given partitions by assignment."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False,
                                auto_offset_reset="earliest", **kwargs)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        out = []
        deadline = time.monotonic() + LIMIT
        while len(out) < expected:
            assert time.monotonic() < deadline, "read %d of %d from %s" % (len(out), expected, topic)
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                out.extend(records)
        return out
    finally:
        await consumer.stop()


async def batch_codecs(admin, topic, partition):
    """The compression codec (attributes & 7) of every record batch in the partition, read with a
    plain Fetch through aiokafka's own client from the partition's leader."""
    [desc] = await admin.describe_topics([topic])
    [leader] = [p["leader"] for p in desc["partitions"] if p["partition"] == partition]
    client = AIOKafkaClient(bootstrap_servers=BOOTSTRAP)
    await client.bootstrap()
    try:
        codecs, offset = [], 0
        while True:
            req = FetchRequest(max_wait_time=100, min_bytes=1, max_bytes=4 << 20, isolation_level=0,
                               topics=[(topic, [(partition, offset, 4 << 20)])])
            resp = await asyncio.wait_for(client.send(leader, req), LIMIT)
            [(_, [part])] = resp.topics
            assert part[0] == partition and part[1] == 0, part[:2]
            high_watermark, data = part[2], part[-1] or b""
            pos = 0
            while pos + 12 <= len(data):
                base, length = struct.unpack_from(">qi", data, pos)
                if pos + 12 + length > len(data):
                    break  # a partial batch at the end of the answer
                (magic,) = struct.unpack_from(">b", data, pos + 16)
                (attributes,) = struct.unpack_from(">h", data, pos + 21)
                (last_delta,) = struct.unpack_from(">i", data, pos + 23)
                assert magic == 2, magic
                codecs.append(attributes & 7)
                offset = base + last_delta + 1
                pos += 12 + length
            if offset >= high_watermark:
                return codecs
            assert pos > 0, "no whole batch at offset %d" % offset
    finally:
        await client.close()


async def topic_configs(admin, topic, names):
    [resp] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic, dict.fromkeys(names))])
    [(error, _, rtype, rname, entries)] = resp.resources
    assert (error, rtype, rname) == (0, ConfigResourceType.TOPIC, topic), resp
    return {e[0]: (e[1], e[3]) for e in entries}  # name -> (value, source)


async def produce_with_acks(admin):
    topic = name("acks")
    resp = await admin.create_topics([NewTopic(topic, 2, 1)])
    assert [tuple(e)[:2] for e in resp.topic_errors] == [(topic, 0)], resp
    sent = []
    for acks in (0, 1, "all"):
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks=acks, linger_ms=5)
        await producer.start()
        try:
            futures = [await producer.send(topic, value=b"%s-%d" % (str(acks).encode(), i), partition=i % 2)
                       for i in range(200)]
            metas = await asyncio.wait_for(asyncio.gather(*futures), LIMIT)
        finally:
            await producer.stop()
        if acks == 0:
            assert metas == [None] * 200, metas[:3]  # no answer, so no metadata
        else:
            # Each partition's offsets follow on from the previous producer's.
            for p in (0, 1):
                mine = [m.offset for m in metas if m.partition == p]
                assert mine == list(range(mine[0], mine[0] + 100)), (acks, p, mine[:5])
        sent += [b"%s-%d" % (str(acks).encode(), i) for i in range(200)]
    records = await read_all(topic, [0, 1], 600)
    assert sorted(r.value for r in records) == sorted(sent)
    for p in (0, 1):
        assert [r.offset for r in records if r.partition == p] == list(range(300))
    # acks=0 records were written in order before the acks=1 ones on each partition.
    assert [r.value for r in records if r.partition == 0][:3] == [b"0-0", b"0-2", b"0-4"]


async def produce_with_codecs(admin):
    topics = {codec: name("codec-" + codec) for codec in CODECS}
    resp = await admin.create_topics([NewTopic(t, 1, 1) for t in topics.values()])
    assert sorted(tuple(e)[:2] for e in resp.topic_errors) == sorted((t, 0) for t in topics.values()), resp
    for codec, topic in topics.items():
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", compression_type=codec,
                                    linger_ms=20, max_batch_size=64 * 1024)
        await producer.start()
        try:
            values = [("%s record %d " % (codec, i)).encode() * 8 for i in range(500)]
            futures = [await producer.send(topic, key=b"k%d" % (i % 7), value=v,
                                           headers=[("codec", codec.encode()), ("i", b"%d" % i)])
                       for i, v in enumerate(values)]
            metas = await asyncio.wait_for(asyncio.gather(*futures), LIMIT)
        finally:
            await producer.stop()
        assert [m.offset for m in metas] == list(range(500)), (codec, [m.offset for m in metas][:5])
        records = await read_all(topic, [0], 500)
        assert [r.value for r in records] == values, codec
        assert [r.key for r in records] == [b"k%d" % (i % 7) for i in range(500)], codec
        assert [list(r.headers) for r in records] == \
            [[("codec", codec.encode()), ("i", b"%d" % i)] for i in range(500)], codec
        # The log holds the batches as the producer compressed them: every batch carries the codec.
        codecs = await batch_codecs(admin, topic, 0)
        assert 1 <= len(codecs) < 500 and set(codecs) == {CODEC_IDS[codec]}, (codec, codecs)


async def idempotent_producer(admin):
    topic = name("idem")
    resp = await admin.create_topics([NewTopic(topic, 3, 1)])
    assert [tuple(e)[:2] for e in resp.topic_errors] == [(topic, 0)], resp
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, enable_idempotence=True, acks="all",
                                compression_type="lz4", linger_ms=2)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=b"key-%d" % (i % 30), value=b"%d" % i) for i in range(3000)]
        metas = await asyncio.wait_for(asyncio.gather(*futures), LIMIT)
    finally:
        await producer.stop()
    per_partition = {}
    for i, m in enumerate(metas):
        per_partition.setdefault(m.partition, []).append((m.offset, i))
    # Keyed records land by key; every partition's offsets run 0..n-1 in send order, none twice.
    for p, pairs in per_partition.items():
        assert [o for o, _ in pairs] == list(range(len(pairs))), (p, pairs[:5])
    records = await read_all(topic, range(3), 3000)
    got = {(r.partition, r.offset): r.value for r in records}
    assert len(got) == 3000
    for i, m in enumerate(metas):
        assert got[(m.partition, m.offset)] == b"%d" % i


async def group_members_split_commit_and_resume(admin):
    topic, group = name("grp"), name("group")
    resp = await admin.create_topics([NewTopic(topic, 4, 1)])
    assert [tuple(e)[:2] for e in resp.topic_errors] == [(topic, 0)], resp
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, value=b"%d:%d" % (i % 4, i // 4), partition=i % 4) for i in range(200)]
        await asyncio.wait_for(asyncio.gather(*futures), LIMIT)
    finally:
        await producer.stop()

    def member(client_id):
        return AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=group, client_id=client_id,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                session_timeout_ms=10000, heartbeat_interval_ms=500)

    a, b = member("member-a"), member("member-b")
    await a.start()
    await b.start()
    try:
        # Both members poll until the group has settled on a 2 + 2 split.
        deadline = time.monotonic() + LIMIT
        while not (len(a.assignment()) == 2 and len(b.assignment()) == 2):
            assert time.monotonic() < deadline, (a.assignment(), b.assignment())
            await asyncio.gather(a.getmany(timeout_ms=200), b.getmany(timeout_ms=200))
        assert a.assignment() | b.assignment() == {TopicPartition(topic, p) for p in range(4)}

        # Each reads its own partitions from the start, then commits 30 on each.
        seen = {a: {}, b: {}}
        for c in (a, b):
            await c.seek_to_beginning(*c.assignment())
        deadline = time.monotonic() + LIMIT
        while any(len(seen[c].get(tp, [])) < 50 for c in (a, b) for tp in c.assignment()):
            assert time.monotonic() < deadline, {tp: len(v) for c in seen for tp, v in seen[c].items()}
            for c, batch in zip((a, b), await asyncio.gather(a.getmany(timeout_ms=200), b.getmany(timeout_ms=200))):
                for tp, records in batch.items():
                    seen[c].setdefault(tp, []).extend((r.offset, r.value) for r in records)
        for c in (a, b):
            assert set(seen[c]) == c.assignment(), (seen[c].keys(), c.assignment())
            for tp, got in seen[c].items():
                assert got == [(i, b"%d:%d" % (tp.partition, i)) for i in range(50)], (tp, got[:3])
            await c.commit({tp: 30 + tp.partition for tp in c.assignment()})
            for tp in c.assignment():
                assert await c.committed(tp) == 30 + tp.partition

        groups = await admin.list_consumer_groups()
        assert (group, "consumer") in [tuple(g) for g in groups], groups
        [resp] = await admin.describe_consumer_groups([group])
        [desc] = resp.groups
        assert (desc[0], desc[1], desc[3], desc[4]) == (0, group, "consumer", "roundrobin"), desc
        assert desc[2] == "Stable", desc
        assert sorted(m[1] for m in desc[5]) == ["member-a", "member-b"], desc[5]
    finally:
        await a.stop()
        await b.stop()

    [resp] = await admin.describe_consumer_groups([group])
    assert (resp.groups[0][2], list(resp.groups[0][5])) == ("Empty", []), resp.groups
    offsets = await admin.list_consumer_group_offsets(group)
    assert {tp: om.offset for tp, om in offsets.items()} == {TopicPartition(topic, p): 30 + p for p in range(4)}

    # A later member takes all four partitions and starts exactly at the commits.
    c = member("member-c")
    await c.start()
    try:
        seen = {}
        deadline = time.monotonic() + LIMIT
        while sum(len(v) for v in seen.values()) < sum(50 - (30 + p) for p in range(4)):
            assert time.monotonic() < deadline, {tp: len(v) for tp, v in seen.items()}
            for tp, records in (await c.getmany(timeout_ms=200)).items():
                seen.setdefault(tp.partition, []).extend(r.offset for r in records)
        assert seen == {p: list(range(30 + p, 50)) for p in range(4)}, seen
        assert c.assignment() == {TopicPartition(topic, p) for p in range(4)}
        await c.commit()
    finally:
        await c.stop()
    offsets = await admin.list_consumer_group_offsets(group)
    assert {tp: om.offset for tp, om in offsets.items()} == {TopicPartition(topic, p): 50 for p in range(4)}
    return topic


async def admin_client(admin, group_topic):
    topic, plain = name("adm"), name("adm-plain")
    resp = await admin.create_topics([
        NewTopic(topic, 3, 1, topic_configs={"retention.ms": "3600000", "cleanup.policy": "compact,delete"}),
        NewTopic(plain, 1, 1)])
    assert sorted(tuple(e)[:2] for e in resp.topic_errors) == [(topic, 0), (plain, 0)], resp
    # Existing, and bad configs.
    resp = await admin.create_topics([NewTopic(topic, 3, 1)])
    assert [tuple(e)[:2] for e in resp.topic_errors] == [(topic, ERR_TOPIC_ALREADY_EXISTS)], resp
    bad = name("adm-bad")
    resp = await admin.create_topics([NewTopic(bad, 1, 1, topic_configs={"retention.ms": "soon"})])
    assert [tuple(e)[:2] for e in resp.topic_errors] == [(bad, ERR_INVALID_CONFIG)], resp
    assert bad not in await admin.list_topics()

    await eventually(lambda: _has_partitions(admin, topic, 3), "the new topic in the metadata")
    defaults = await topic_configs(admin, plain, ["retention.ms", "cleanup.policy", "max.message.bytes"])
    assert all(src != SOURCE_DYNAMIC_TOPIC for _, src in defaults.values()), defaults
    cfg = await topic_configs(admin, topic, ["retention.ms", "cleanup.policy", "max.message.bytes"])
    assert cfg == {"retention.ms": ("3600000", SOURCE_DYNAMIC_TOPIC),
                   "cleanup.policy": ("compact,delete", SOURCE_DYNAMIC_TOPIC),
                   "max.message.bytes": defaults["max.message.bytes"]}, cfg

    # AlterConfigs replaces the whole override set: what is not named goes back to the default.
    [resp] = await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                       {"max.message.bytes": "300000"})])
    assert [tuple(r)[:1] + tuple(r)[2:4] for r in resp.resources] == [(0, ConfigResourceType.TOPIC, topic)], resp
    cfg = await topic_configs(admin, topic, ["retention.ms", "cleanup.policy", "max.message.bytes"])
    assert cfg == {"retention.ms": defaults["retention.ms"], "cleanup.policy": defaults["cleanup.policy"],
                   "max.message.bytes": ("300000", SOURCE_DYNAMIC_TOPIC)}, cfg
    [resp] = await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, {"retention.ms": "-7"})])
    assert [r[0] for r in resp.resources] == [ERR_INVALID_CONFIG], resp
    # The broker's own configs.
    cluster = await admin.describe_cluster()
    broker_id = cluster["brokers"][0]["node_id"]
    [resp] = await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(broker_id),
                                                          {"num.partitions": None, "log.retention.hours": None})])
    entries = {e[0]: e[1] for e in resp.resources[0][4]}
    assert set(entries) == {"num.partitions", "log.retention.hours"} and entries["num.partitions"].isdigit(), entries

    # Partitions: 3 -> 5; fewer is refused.
    await admin.create_partitions({topic: NewPartitions(5)})
    await eventually(lambda: _has_partitions(admin, topic, 5), "five partitions")
    try:
        await admin.create_partitions({topic: NewPartitions(4)})
        raise AssertionError("shrinking a topic succeeded")
    except InvalidPartitionsError:
        pass
    [desc] = await admin.describe_topics([topic])
    assert (desc["error_code"], desc["topic"], desc["is_internal"]) == (0, topic, False), desc
    assert sorted(p["partition"] for p in desc["partitions"]) == list(range(5))
    for p in desc["partitions"]:
        assert p["replicas"] == [p["leader"]] and p["isr"] == [p["leader"]], p

    # Delete records on the group test's topic (50 per partition).
    low = await admin.delete_records({TopicPartition(group_topic, 0): RecordsToDelete(20),
                                      TopicPartition(group_topic, 3): RecordsToDelete(-1)})
    assert low == {TopicPartition(group_topic, 0): 20, TopicPartition(group_topic, 3): 50}, low
    try:
        await admin.delete_records({TopicPartition(group_topic, 1): RecordsToDelete(51)})
        raise AssertionError("deleting past the high watermark succeeded")
    except OffsetOutOfRangeError:
        pass
    records = await read_all(group_topic, [0], 30)
    assert [r.offset for r in records] == list(range(20, 50))

    # Delete the topics: gone from the listing.
    resp = await admin.delete_topics([topic, plain])
    assert sorted(tuple(e)[:2] for e in resp.topic_error_codes) == [(topic, 0), (plain, 0)], resp
    await eventually(lambda: _absent(admin, [topic, plain]), "the deleted topics to disappear")


async def _has_partitions(admin, topic, n):
    [desc] = await admin.describe_topics([topic])
    return desc["error_code"] == 0 and len(desc["partitions"]) == n


async def _absent(admin, topics):
    listed = await admin.list_topics()
    return not set(topics) & set(listed)


async def main():
    assert aiokafka.__version__ == pinned("aiokafka"), aiokafka.__version__
    print("aiokafka %s" % aiokafka.__version__)
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=30000)
    await admin.start()
    try:
        for step in (produce_with_acks, produce_with_codecs, idempotent_producer):
            started = time.monotonic()
            await step(admin)
            print("%s: ok (%.1fs)" % (step.__name__, time.monotonic() - started))
        started = time.monotonic()
        group_topic = await group_members_split_commit_and_resume(admin)
        print("group_members_split_commit_and_resume: ok (%.1fs)" % (time.monotonic() - started))
        started = time.monotonic()
        await admin_client(admin, group_topic)
        print("admin_client: ok (%.1fs)" % (time.monotonic() - started))
    finally:
        await admin.close()
    print("ok")


asyncio.run(asyncio.wait_for(main(), 240))
