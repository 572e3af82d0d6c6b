"""The admin/metrics HTTP listener against the real broker, driven by kafka-python (2.0.2).

A broker starts with `http.listeners` on a free loopback port. The test produces N messages to a
new topic and checks that /metrics moved by exactly that much (messages in for the topic, produce
requests counted), consumes them with a group and commits, then reads /v1/topics/{topic} and
/v1/groups/{group} (state, member, decoded assignment, committed offsets, lag) and the lag
metric, before and after M more messages arrive. Also checks the error answers (404, 405).
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from broker_process import BrokerProcess  # noqa: E402

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402

TOPIC = "http-obs-topic"
GROUP = "http-obs-group"
N = 250
M = 17


def http(base, path, method="GET"):
    """(status, content type, body text) of one request."""
    request = urllib.request.Request(base + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def get_json(base, path, status=200):
    code, content_type, body = http(base, path)
    assert code == status, (path, code, body)
    assert content_type == "application/json", (path, content_type)
    return json.loads(body)


def scrape(base):
    """{series: value}, where series is the sample line up to the value (name and labels)."""
    code, content_type, body = http(base, "/metrics")
    assert code == 200, (code, body)
    assert content_type.startswith("text/plain; version=0.0.4"), content_type
    samples = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        samples[series] = float(value)
    return samples


def total(samples, prefix):
    return sum(v for k, v in samples.items() if k.startswith(prefix))


def wait_until(condition, what, limit=30.0):
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def produce(bootstrap, count, start):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    for i in range(start, start + count):
        producer.send(TOPIC, value=b"message-%d" % i, partition=0)
    producer.flush(30)
    producer.close()


def main():
    with BrokerProcess(http_port=0) as broker:
        base = broker.http_base
        bootstrap = broker.bootstrap
        ready = wait_until(lambda: http(base, "/v1/ready")[0] == 200, "readiness")
        assert ready
        assert get_json(base, "/v1/health")["status"] == "ok"

        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1)])

        before = scrape(base)
        produce_requests_before = total(before, 'sluice_requests_total{api="Produce"')
        assert ('sluice_topic_messages_in_total{topic="%s"}' % TOPIC) not in before

        produce(bootstrap, N, 0)
        after = scrape(base)
        assert after['sluice_topic_messages_in_total{topic="%s"}' % TOPIC] == N, after
        assert after['sluice_topic_bytes_in_total{topic="%s"}' % TOPIC] > 0
        assert total(after, 'sluice_requests_total{api="Produce"') > produce_requests_before
        assert after['sluice_partition_log_end_offset{topic="%s",partition="0"}' % TOPIC] == N
        assert after['sluice_partition_high_watermark{topic="%s",partition="0"}' % TOPIC] == N
        assert after["sluice_connections_accepted_total"] >= 1
        assert after["process_resident_memory_bytes"] > 0
        assert after['sluice_request_duration_seconds_count{api="Produce",api_key="0"}'] >= 1

        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, client_id="obs-client",
                                 enable_auto_commit=False, auto_offset_reset="earliest",
                                 session_timeout_ms=10000, heartbeat_interval_ms=500)
        consumer.subscribe([TOPIC])
        got = 0
        deadline = time.monotonic() + 60
        while got < N:
            assert time.monotonic() < deadline, "consumed only %d of %d" % (got, N)
            for _, messages in consumer.poll(timeout_ms=200, max_records=N - got).items():
                got += len(messages)
        consumer.commit()

        group = get_json(base, "/v1/groups/" + GROUP)
        assert group["state"] == "Stable", group
        assert group["protocol_type"] == "consumer", group
        assert len(group["members"]) == 1, group
        member = group["members"][0]
        assert member["client_id"] == "obs-client", member
        assert member["client_host"].startswith("/127.0.0.1"), member
        assert member["assignment"] == {TOPIC: [0]}, member
        offsets = [o for o in group["offsets"] if o["topic"] == TOPIC]
        assert len(offsets) == 1, group
        assert offsets[0]["committed_offset"] == N and offsets[0]["lag"] == 0, offsets
        assert offsets[0]["high_watermark"] == N, offsets

        listed = get_json(base, "/v1/groups")["groups"]
        assert [g["group_id"] for g in listed] == [GROUP], listed

        produce(bootstrap, M, N)
        group = get_json(base, "/v1/groups/" + GROUP)
        offsets = [o for o in group["offsets"] if o["topic"] == TOPIC]
        assert offsets[0]["committed_offset"] == N and offsets[0]["lag"] == M, offsets
        assert group["total_lag"] == M, group

        samples = scrape(base)
        labels = '{group="%s",topic="%s",partition="0"}' % (GROUP, TOPIC)
        assert samples["sluice_consumer_group_lag" + labels] == M, samples.get("sluice_consumer_group_lag" + labels)
        assert samples["sluice_consumer_group_committed_offset" + labels] == N
        assert samples['sluice_topic_messages_in_total{topic="%s"}' % TOPIC] == N + M
        # Every batch of the first N messages went out at least once.
        bytes_in_first = after['sluice_topic_bytes_in_total{topic="%s"}' % TOPIC]
        assert samples['sluice_topic_bytes_out_total{topic="%s"}' % TOPIC] >= bytes_in_first
        assert samples["sluice_connections"] >= 1

        topic = get_json(base, "/v1/topics/" + TOPIC)
        partition = topic["partitions"][0]
        assert partition["log_end_offset"] == N + M, partition
        assert partition["high_watermark"] == N + M, partition
        assert partition["log_start_offset"] == 0, partition
        assert partition["leader"] == 0 and partition["replicas"] == [0] and partition["isr"] == [0], partition
        assert partition["size_bytes"] > 0, partition
        assert "retention.ms" in topic["configs"], topic["configs"]
        names = [t["name"] for t in get_json(base, "/v1/topics")["topics"]]
        assert TOPIC in names and "__consumer_offsets" in names, names

        consumer.close()
        admin.close()

        assert get_json(base, "/v1/nothing", status=404)["error"] == "not_found"
        assert get_json(base, "/v1/groups/unknown-group", status=404)["error"] == "unknown_group"
        code, _, _ = http(base, "/metrics", method="POST")
        assert code == 405, code
    print("http observability: ok")


if __name__ == "__main__":
    main()
