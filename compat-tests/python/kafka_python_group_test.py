"""kafka-python (Debian's python3-kafka 2.0.2) consumer groups: a KafkaConsumer with a group_id
subscribes (FindCoordinator v0, JoinGroup v2, SyncGroup v1, Heartbeat v1), consumes and commits
(OffsetCommit v2); a second consumer of the group resumes at the commit (OffsetFetch v1); the
admin client lists, describes, reads the offsets of and deletes the group."""
import os
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import GroupIdNotFoundError, NoError, NonEmptyGroupError
from kafka.structs import OffsetAndMetadata

bootstrap = os.environ["BOOTSTRAP"]
TOPIC = "kp-group-topic"
GROUP = "kp-group"

admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
admin.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=1)])

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
for i in range(200):
    producer.send(TOPIC, value=b"v%d" % i, partition=i % 2)
producer.flush(30)
producer.close()


def new_consumer():
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False,
                         auto_offset_reset="earliest", session_timeout_ms=10000,
                         heartbeat_interval_ms=500)


def consume(consumer, count, limit=60.0):
    got = []
    deadline = time.monotonic() + limit
    while len(got) < count:
        assert time.monotonic() < deadline, "only %d of %d messages" % (len(got), count)
        for tp, msgs in consumer.poll(timeout_ms=200, max_records=count - len(got)).items():
            got.extend((tp.partition, m.offset) for m in msgs)
    return got


consumer = new_consumer()
consumer.subscribe([TOPIC])
got = consume(consumer, 120)
assert consumer.assignment() == {TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)}, consumer.assignment()
# Commit exactly what was consumed (the consumer's positions).
consumer.commit()
positions = {tp.partition: consumer.position(tp) for tp in consumer.assignment()}
assert sum(positions.values()) == 120, positions
for tp in consumer.assignment():
    assert consumer.committed(tp) == positions[tp.partition], (tp, consumer.committed(tp))
# An explicit commit with metadata.
consumer.commit({TopicPartition(TOPIC, 0): OffsetAndMetadata(positions[0], "note")})

groups = admin.list_consumer_groups()
assert (GROUP, "consumer") in groups, groups
described = admin.describe_consumer_groups([GROUP])[0]
assert described.state == "Stable", described
assert described.protocol_type == "consumer", described
assert len(described.members) == 1, described
assert described.members[0].client_host == "/127.0.0.1", described.members[0]
assert [(t, sorted(ps)) for t, ps in described.members[0].member_assignment.assignment] == [(TOPIC, [0, 1])], \
    described.members[0]
offsets = admin.list_consumer_group_offsets(GROUP)
assert {tp.partition: o.offset for tp, o in offsets.items()} == positions, offsets
assert offsets[TopicPartition(TOPIC, 0)].metadata == "note", offsets

# delete_consumer_groups reports an error class per group.
assert admin.delete_consumer_groups([GROUP]) == [(GROUP, NonEmptyGroupError)]
consumer.close()  # leaves the group

# A new member resumes at the commits: the remaining 80 messages, none of the first 120.
later = new_consumer()
later.subscribe([TOPIC])
rest = consume(later, 80)
assert all(offset >= positions[p] for p, offset in rest), rest[:5]
assert len(set(rest) | set(got)) == 200
later.commit()
later.close()

assert admin.describe_consumer_groups([GROUP])[0].state == "Empty"
assert admin.delete_consumer_groups([GROUP]) == [(GROUP, NoError)]
assert GROUP not in [g for g, _ in admin.list_consumer_groups()]
assert admin.delete_consumer_groups([GROUP]) == [(GROUP, GroupIdNotFoundError)]
admin.close()
print("ok")
