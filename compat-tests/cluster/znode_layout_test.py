"""The cluster's ZooKeeper tree has Kafka 3.9.2's layout.

Three brokers (offsets.topic.replication.factor=1) go through what made Kafka's own tree in
zk/tests/fixtures/kafka-3.9.2-znodes.json (scripts/reference-kafka.sh dump-zk-fixture): the topics
`orders` (3 partitions, retention.ms and cleanup.policy=delete) and `compacted` (2 partitions,
cleanup.policy=compact) are created, orders' config altered (max.message.bytes, retention.ms), one
broker's config (log.cleaner.delete.retention.ms; Kafka's fixture used log.cleaner.threads, which this broker does not change at run time) and the cluster-wide broker default (log.retention.ms)
altered, 30 records produced by an idempotent producer and consumed by the group `dumpers`, which
commits. Then the whole tree under the chroot is read (kazoo) and checked:

- against the fixture, node by node: every kind of node Kafka has is here and nothing else is;
  per kind, the same data format (JSON, null, text), the same ephemeral flag, the same JSON keys
  with the same value types, the same payload `version` fields, the same data versions where the
  same operations give the same version, and the same children;
- against this cluster: broker registrations name their listeners, partition states and
  assignments agree with Metadata, /controller with the controller in Metadata, /cluster/id with
  the cluster id clients see, the config nodes hold exactly the overrides, the config change
  notifications follow the changes in order, and /controller_epoch and /latest_producer_id_block
  move the way Kafka moves them;
- against docs/cluster.md's table: every node is documented there (or is a parent of a documented
  node) and the ephemeral marks agree.
The configs are altered with IncrementalAlterConfigs requests of our own: librdkafka's admin client
cannot name the cluster-wide broker default.
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cluster import (REPO, RESOURCE_BROKER, RESOURCE_TOPIC, Cluster, ZooKeeperServer, create_topic,  # noqa: E402
                     incremental_alter_configs, produce, require_zookeeper, wait_for)

FIXTURE = os.path.join(REPO, "zk", "tests", "fixtures", "kafka-3.9.2-znodes.json")
DOC = os.path.join(REPO, "docs", "cluster.md")
GROUP = "dumpers"
RECORDS = 30

# Kinds of node: paths that differ only by a topic, partition, broker id or sequence number.
KINDS = [
    (r"/brokers/ids/\d+", "/brokers/ids/<id>"),
    (r"/brokers/topics/[^/]+", "/brokers/topics/<topic>"),
    (r"/brokers/topics/[^/]+/partitions", "/brokers/topics/<topic>/partitions"),
    (r"/brokers/topics/[^/]+/partitions/\d+", "/brokers/topics/<topic>/partitions/<p>"),
    (r"/brokers/topics/[^/]+/partitions/\d+/state", "/brokers/topics/<topic>/partitions/<p>/state"),
    (r"/config/topics/[^/]+", "/config/topics/<topic>"),
    (r"/config/brokers/<default>", "/config/brokers/<default>"),
    (r"/config/brokers/\d+", "/config/brokers/<id>"),
    (r"/config/changes/config_change_\d{10}", "/config/changes/config_change_<seq>"),
    (r"/admin/delete_topics/[^/]+", "/admin/delete_topics/<topic>"),
    (r"/isr_change_notification/isr_change_\d{10}", "/isr_change_notification/isr_change_<seq>"),
    (r"/log_dir_event_notification/log_dir_event_\d{10}", "/log_dir_event_notification/log_dir_event_<seq>"),
]
# JSON fields whose keys are data (topic partitions, config names, ...), not a fixed schema.
MAP_FIELDS = {"partitions", "config", "adding_replicas", "removing_replicas", "features",
              "listener_security_protocol_map"}
# JSON fields that must hold exactly Kafka's value, whatever the cluster.
FIXED_FIELDS = {"version", "jmx_port", "kraftControllerEpoch", "status", "features",
                "listener_security_protocol_map", "adding_replicas", "removing_replicas", "host"}
BASE64_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


def kind_of(path):
    for pattern, kind in KINDS:
        if re.fullmatch(pattern, path):
            return kind
    return path


def describe(data):
    """(format, value) as the fixture records them: null, empty, json or text."""
    if data is None:
        return "null", None
    if data == b"":
        return "empty", ""
    text = data.decode("utf-8", errors="replace")
    try:
        return "json", json.loads(text)
    except ValueError:
        return "text", text


def read_tree(kz):
    """{path: node} for every znode under the client's chroot (paths relative to it)."""
    from kazoo.exceptions import NoNodeError

    nodes = {}
    stack = ["/"]
    while stack:
        path = stack.pop()
        try:
            data, stat = kz.get(path)
            children = sorted(kz.get_children(path))
        except NoNodeError:  # went while the tree was walked
            continue
        fmt, value = describe(data)
        nodes[path] = {"path": path, "format": fmt, "data": value, "version": stat.version,
                       "ephemeral": stat.ephemeralOwner != 0, "children": children}
        stack.extend(path.rstrip("/") + "/" + c for c in children)
    return nodes


def type_name(v):
    for t, name in ((bool, "bool"), (int, "int"), (float, "number"), (str, "string"), (list, "array"),
                    (dict, "object"), (type(None), "null")):
        if isinstance(v, t):
            return name
    return type(v).__name__


def compare_shape(ours, theirs, where, problems):
    """Same JSON structure: object keys, value types, element types; MAP_FIELDS compared by the
    type of their entries."""
    if type_name(ours) != type_name(theirs):
        problems.append("%s: %s where Kafka has %s (%r vs %r)" % (where, type_name(ours), type_name(theirs), ours, theirs))
        return
    if isinstance(ours, dict):
        if set(ours) != set(theirs):
            problems.append("%s: keys %s where Kafka has %s" % (where, sorted(ours), sorted(theirs)))
        for k in sorted(set(ours) & set(theirs)):
            sub = "%s.%s" % (where, k)
            if k in FIXED_FIELDS and ours[k] != theirs[k]:
                problems.append("%s: %r where Kafka has %r" % (sub, ours[k], theirs[k]))
            elif k in MAP_FIELDS and isinstance(ours[k], dict) and isinstance(theirs[k], dict):
                sample = next(iter(theirs[k].values()), None)
                for mk, mv in ours[k].items():
                    if sample is not None:
                        compare_shape(mv, sample, "%s[%s]" % (sub, mk), problems)
            else:
                compare_shape(ours[k], theirs[k], sub, problems)
    elif isinstance(ours, list) and ours and theirs:
        for i, v in enumerate(ours):
            compare_shape(v, theirs[0], "%s[%d]" % (where, i), problems)


def doc_table():
    """docs/cluster.md's layout table as [(regex, ephemeral)]: each path of the first column
    (placeholders <...> match one path segment; <default> is literal) and the children a
    payload cell names."""
    rows = []
    in_layout = False
    with open(DOC) as f:
        for line in f:
            # Only the table of the "The znode layout" section (other tables name paths too).
            if line.startswith("## "):
                in_layout = line.strip() == "## The znode layout"
                continue
            if not in_layout or not line.startswith("| `"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            ephemeral = bool(re.search(r"`\s+E\b", cells[0]))
            paths = re.findall(r"`([^`]+)`", cells[0])
            for child in re.findall(r"\(children `([^`]+)`\)", cells[1]):
                paths += [p + "/" + child for p in paths[:1]]
            for p in paths:
                rows.append((doc_regex(p), ephemeral, p))
    assert rows, "no table rows in " + DOC
    return rows


def doc_regex(path):
    out = ""
    for piece in re.split(r"(<[^>]+>)", path):
        if piece == "<default>":
            out += re.escape(piece)
        elif piece == "<10 digits>":
            out += r"\d{10}"
        elif piece.startswith("<"):
            out += r"[^/]+"
        else:
            out += re.escape(piece)
    return out


def translate(path, broker_id):
    """A path of this cluster as it reads in the fixture (broker 0)."""
    return re.sub(r"^/config/brokers/%d$" % broker_id, "/config/brokers/0", path)


def setup(cluster, altered_broker):
    from confluent_kafka import Consumer
    from confluent_kafka.admin import AdminClient

    create_topic(cluster.bootstrap, "orders", 3, 1, {"retention.ms": "3600000", "cleanup.policy": "delete"})
    create_topic(cluster.bootstrap, "compacted", 2, 1, {"cleanup.policy": "compact"})
    cluster.wait_topic("orders", 3)
    cluster.wait_topic("compacted", 2)
    # One change at a time (their notifications' order is checked), as kafka-configs --alter
    # --add-config makes them; a broker's own config goes to that broker.
    some_broker = cluster.address(cluster.ids[-1])
    incremental_alter_configs(some_broker, RESOURCE_TOPIC, "orders",
                              {"max.message.bytes": "2000000", "retention.ms": "7200000"})
    incremental_alter_configs(cluster.address(altered_broker), RESOURCE_BROKER, str(altered_broker),
                              {"log.cleaner.delete.retention.ms": "3600000"})
    incremental_alter_configs(some_broker, RESOURCE_BROKER, "", {"log.retention.ms": "86400000"})
    produce(cluster.bootstrap, "orders", {p: [b"order-%d-%d" % (p, i) for i in range(RECORDS // 3)] for p in range(3)})

    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": GROUP, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    try:
        consumer.subscribe(["orders"])
        seen = 0
        deadline = time.monotonic() + 60
        while seen < RECORDS:
            assert time.monotonic() < deadline, "group %s read %d of %d" % (GROUP, seen, RECORDS)
            for m in consumer.consume(num_messages=100, timeout=0.5):
                assert m.error() is None, m.error()
                seen += 1
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=15).cluster_id


def check(cluster, nodes, fixture, altered_broker, cluster_id):
    problems = []
    theirs_by_path = {n["path"]: n for n in fixture}
    theirs_by_kind = {}
    for n in fixture:
        theirs_by_kind.setdefault(kind_of(n["path"]), n)
    ours_kinds = {kind_of(p) for p in nodes}
    fixture_children = {}
    for n in fixture:
        if n["path"] != "/":
            parent, name = n["path"].rsplit("/", 1)
            fixture_children.setdefault(parent or "/", []).append(name)
    for names in fixture_children.values():
        names.sort()
    doc = doc_table()

    # Every kind of node Kafka has is here; every node here is a kind Kafka has or the doc names.
    for kind in sorted(set(theirs_by_kind) - ours_kinds):
        problems.append("missing: Kafka's tree has %s" % kind)
    for path in sorted(nodes):
        kind = kind_of(path)
        if kind not in theirs_by_kind and not any(re.fullmatch(rx, path) for rx, _, _ in doc):
            problems.append("unknown node %s (neither in Kafka's tree nor in docs/cluster.md)" % path)

    for path, ours in sorted(nodes.items()):
        kind = kind_of(path)
        theirs = theirs_by_path.get(translate(path, altered_broker)) or theirs_by_kind.get(kind)
        if theirs is None:
            continue
        if ours["format"] != theirs["format"]:
            problems.append("%s: data is %s where Kafka's is %s" % (path, ours["format"], theirs["format"]))
        if ours["ephemeral"] != theirs["ephemeral"]:
            problems.append("%s: ephemeral %s where Kafka's is %s" % (path, ours["ephemeral"], theirs["ephemeral"]))
        if ours["format"] == "json" == theirs["format"]:
            compare_shape(ours["data"], theirs["data"], path, problems)
        # Data versions: the same operations give the same versions, but for the two nodes whose
        # version counts elections or id blocks (checked below against their content).
        if kind not in ("/controller_epoch", "/latest_producer_id_block") and ours["version"] != theirs["version"]:
            problems.append("%s: data version %d where Kafka's is %d" % (path, ours["version"], theirs["version"]))
        exact = translate(path, altered_broker)
        if exact in theirs_by_path and path != "/brokers/ids":  # a cluster has more brokers
            mine = sorted(translate(path.rstrip("/") + "/" + c, altered_broker).rsplit("/", 1)[1]
                          for c in ours["children"])
            if mine != fixture_children.get(exact, []):
                problems.append("%s: children %s where Kafka's are %s" % (path, mine, fixture_children.get(exact, [])))

    # docs/cluster.md: every node documented (or a parent of a documented one), E marks agree.
    for path, ours in sorted(nodes.items()):
        rows = [(rx, eph, p) for rx, eph, p in doc if re.fullmatch(rx, path)]
        if rows:
            for rx, eph, p in rows:
                if eph != ours["ephemeral"]:
                    problems.append("%s: ephemeral %s, docs/cluster.md's %s says %s" % (path, ours["ephemeral"], p, eph))
        elif not any(re.fullmatch(parent, path) for parent in doc_parents(doc)):
            problems.append("%s is not in docs/cluster.md's table" % path)
    for rx, _, p in doc:
        if any(re.fullmatch(rx, n["path"]) for n in fixture) and not any(re.fullmatch(rx, q) for q in nodes):
            problems.append("docs/cluster.md's %s (in Kafka's tree too) is missing" % p)

    problems += check_content(cluster, nodes, altered_broker, cluster_id)
    return problems


def doc_parents(doc):
    """Regexes for the parents of the documented paths (/brokers, /brokers/topics/<topic>/partitions, ...)."""
    parents = {"/"}
    for _, _, p in doc:
        parts = p.split("/")
        parents.update(doc_regex("/".join(parts[:i])) for i in range(2, len(parts)))
    return sorted(parents)


def check_content(cluster, nodes, altered_broker, cluster_id):
    problems = []

    def expect(cond, message):
        if not cond:
            problems.append(message)

    def data(path):
        return nodes.get(path, {}).get("data")

    md = cluster.metadata()
    expect(nodes["/brokers/ids"]["children"] == sorted(str(i) for i in cluster.ids),
           "/brokers/ids: %s" % nodes["/brokers/ids"]["children"])
    for i in cluster.ids:
        reg = data("/brokers/ids/%d" % i) or {}
        port = cluster.port(i)
        expect(reg.get("endpoints") == ["PLAINTEXT://127.0.0.1:%d" % port] and reg.get("port") == port
               and reg.get("host") == "127.0.0.1", "/brokers/ids/%d: %s (listener port %d)" % (i, reg, port))
        expect(str(reg.get("timestamp", "")).isdigit(), "/brokers/ids/%d: timestamp %r" % (i, reg.get("timestamp")))
    controller = data("/controller") or {}
    expect(controller.get("brokerid") == md.controller_id, "/controller: %s, Metadata's controller %d"
           % (controller, md.controller_id))
    epoch = nodes["/controller_epoch"]
    expect(epoch["format"] == "json" and isinstance(epoch["data"], int) and epoch["data"] >= 1
           and epoch["version"] == epoch["data"], "/controller_epoch: %r at data version %d (Kafka: the "
           "version counts the elections, as the epoch does)" % (epoch["data"], epoch["version"]))
    cid = data("/cluster/id") or {}
    expect(cid.get("id") == cluster_id and BASE64_ID.match(cid.get("id") or ""),
           "/cluster/id: %s, clients see %r" % (cid, cluster_id))
    if cluster.has_http:
        listed = cluster.http_brokers(cluster.ids[0])
        expect(listed["cluster_id"] == cid.get("id"), "/v1/brokers cluster_id %r" % listed["cluster_id"])

    topics = {"orders": 3, "compacted": 2, "__consumer_offsets": 50}
    expect(nodes["/brokers/topics"]["children"] == sorted(topics), "/brokers/topics: %s"
           % nodes["/brokers/topics"]["children"])
    for topic, count in topics.items():
        assignment = data("/brokers/topics/" + topic) or {}
        expect(BASE64_ID.match(assignment.get("topic_id") or ""), "%s: topic_id %r" % (topic, assignment.get("topic_id")))
        parts = md.topics.get(topic)
        expect(parts is not None and len(parts.partitions) == count, "Metadata: %s" % topic)
        expect(sorted(assignment.get("partitions", {}), key=int) == [str(p) for p in range(count)],
               "/brokers/topics/%s partitions %s" % (topic, assignment.get("partitions")))
        for p in range(count):
            leader = parts.partitions[p].leader if parts and p in parts.partitions else None
            expect(assignment.get("partitions", {}).get(str(p)) == [leader],
                   "/brokers/topics/%s partition %d: %s, Metadata's leader %s"
                   % (topic, p, assignment.get("partitions", {}).get(str(p)), leader))
            state = data("/brokers/topics/%s/partitions/%d/state" % (topic, p)) or {}
            expect(state.get("leader") == leader and state.get("isr") == [leader]
                   and 1 <= state.get("controller_epoch", 0) <= epoch["data"] and state.get("leader_epoch", -1) >= 0,
                   "%s-%d state %s, Metadata's leader %s" % (topic, p, state, leader))

    configs = {
        "orders": {"cleanup.policy": "delete", "max.message.bytes": "2000000", "retention.ms": "7200000"},
        "compacted": {"cleanup.policy": "compact"},
        "__consumer_offsets": {"cleanup.policy": "compact", "compression.type": "producer",
                               "segment.bytes": "104857600"},
    }
    for topic, config in configs.items():
        expect((data("/config/topics/" + topic) or {}).get("config") == config,
               "/config/topics/%s: %s, expected %s" % (topic, data("/config/topics/" + topic), config))
    expect(nodes["/config/brokers"]["children"] == sorted([str(altered_broker), "<default>"]),
           "/config/brokers: %s" % nodes["/config/brokers"]["children"])
    expect((data("/config/brokers/%d" % altered_broker) or {}).get("config") == {"log.cleaner.delete.retention.ms": "3600000"},
           "/config/brokers/%d: %s" % (altered_broker, data("/config/brokers/%d" % altered_broker)))
    expect((data("/config/brokers/<default>") or {}).get("config") == {"log.retention.ms": "86400000"},
           "/config/brokers/<default>: %s" % data("/config/brokers/<default>"))
    changes = [data("/config/changes/" + c) or {} for c in nodes["/config/changes"]["children"]]
    expect([c.get("entity_path") for c in changes] == ["topics/orders", "brokers/%d" % altered_broker,
                                                        "brokers/<default>"],
           "/config/changes, in order: %s" % changes)

    block = nodes["/latest_producer_id_block"]
    b = block["data"] or {}
    try:
        start, end = int(b.get("block_start")), int(b.get("block_end"))
        expect(b.get("broker") in cluster.ids and end - start + 1 == 1000 and start == 1000 * (block["version"] - 1),
               "/latest_producer_id_block: %s at data version %d (Kafka: blocks of 1000, one write per "
               "block)" % (b, block["version"]))
    except (TypeError, ValueError):
        problems.append("/latest_producer_id_block: %s" % b)
    return problems


def main():
    require_zookeeper()
    with open(FIXTURE) as f:
        fixture = json.load(f)["znodes"]
    with ZooKeeperServer() as zk, Cluster(3, zk, overrides={"offsets.topic.replication.factor": "1"}) as cluster:
        altered_broker = cluster.ids[0]
        t0 = time.monotonic()
        cluster_id = setup(cluster, altered_broker)
        cluster.wait_topic("__consumer_offsets", 50)
        print("topics, configs, producer ids and group offsets written in %.1fs" % (time.monotonic() - t0))
        kz = zk.client(cluster.chroot)
        try:
            # The tree settles once no deletion is pending and every partition has its state.
            nodes = wait_for(lambda: settled(read_tree(kz)), "a settled tree", 30.0)
        finally:
            kz.stop()
            kz.close()
        print("read %d znodes under %s (Kafka's fixture: %d)" % (len(nodes), cluster.chroot, len(fixture)))
        problems = check(cluster, nodes, fixture, altered_broker, cluster_id)
        for p in problems:
            print("MISMATCH " + p)
        assert not problems, "%d differences from Kafka 3.9.2's tree or docs/cluster.md" % len(problems)
        print("every path, payload shape, version and ephemeral flag matches Kafka 3.9.2's tree and docs/cluster.md")
    print("ok")


def settled(nodes):
    if nodes.get("/admin/delete_topics", {}).get("children"):
        return None
    for path in nodes:
        if re.fullmatch(r"/brokers/topics/[^/]+/partitions/\d+", path) and path + "/state" not in nodes:
            return None
    return nodes


if __name__ == "__main__":
    main()
