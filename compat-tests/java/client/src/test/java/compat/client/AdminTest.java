package compat.client;

import static compat.client.Cluster.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.SecurityDisabledException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Admin: topics, configs, partitions, offsets, records, groups, cluster, log dirs, producers, features. */
class AdminTest {
    static final long T = 30;
    static Admin admin;

    @BeforeAll
    static void setUp() {
        admin = Cluster.admin();
    }

    @AfterAll
    static void tearDown() {
        admin.close();
    }

    static ConfigEntry topicConfig(String topic, String name) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config c = admin.describeConfigs(List.of(r)).all().get(T, TimeUnit.SECONDS).get(r);
        return c.get(name);
    }

    static void alter(String topic, AlterConfigOp... ops) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        admin.incrementalAlterConfigs(Map.of(r, List.of(ops))).all().get(T, TimeUnit.SECONDS);
    }

    static void produce(String topic, int partition, int n) throws Exception {
        try (KafkaProducer<String, String> p = Cluster.producer(map())) {
            for (int i = 0; i < n; i++) {
                p.send(new ProducerRecord<>(topic, partition, "k" + i, "v" + i));
            }
            p.flush();
        }
    }

    @Test
    void describeClusterNamesTheClusterTheControllerAndTheNodes() throws Exception {
        DescribeClusterResult r = admin.describeCluster();
        String clusterId = r.clusterId().get(T, TimeUnit.SECONDS);
        Node controller = r.controller().get(T, TimeUnit.SECONDS);
        Collection<Node> nodes = r.nodes().get(T, TimeUnit.SECONDS);
        assertNotNull(clusterId);
        assertFalse(clusterId.isEmpty());
        assertFalse(nodes.isEmpty());
        assertNotNull(controller);
        assertTrue(controller.id() >= 0);
        String port = Cluster.bootstrap().substring(Cluster.bootstrap().lastIndexOf(':') + 1);
        assertTrue(nodes.stream().anyMatch(n -> String.valueOf(n.port()).equals(port)),
                "a node listens on the bootstrap port: " + nodes);
        // The same id twice.
        assertEquals(clusterId, admin.describeCluster().clusterId().get(T, TimeUnit.SECONDS));
    }

    @Test
    void createDescribeAndDeleteTopics() throws Exception {
        Node node = Cluster.firstNode(admin);
        String withConfigs = Cluster.unique("java-admin-configs");
        String assigned = Cluster.unique("java-admin-assigned");
        admin.createTopics(List.of(
                new NewTopic(withConfigs, 3, (short) 1).configs(Map.of("cleanup.policy", "compact",
                        "retention.ms", "123456789", "segment.bytes", "1048576")),
                new NewTopic(assigned, Map.of(0, List.of(node.id()), 1, List.of(node.id())))))
                .all().get(T, TimeUnit.SECONDS);

        TopicDescription d = Cluster.awaitLeaders(admin, withConfigs, 3);
        assertEquals(withConfigs, d.name());
        assertFalse(d.isInternal());
        assertNotNull(d.topicId());
        assertNotEquals(Uuid.ZERO_UUID, d.topicId());
        for (int i = 0; i < 3; i++) {
            assertEquals(i, d.partitions().get(i).partition());
            assertEquals(1, d.partitions().get(i).replicas().size());
            assertEquals(d.partitions().get(i).leader().id(), d.partitions().get(i).replicas().get(0).id());
            assertEquals(1, d.partitions().get(i).isr().size());
        }
        ConfigEntry cp = topicConfig(withConfigs, "cleanup.policy");
        assertEquals("compact", cp.value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, cp.source());
        assertEquals("123456789", topicConfig(withConfigs, "retention.ms").value());
        assertEquals("1048576", topicConfig(withConfigs, "segment.bytes").value());

        TopicDescription a = Cluster.awaitLeaders(admin, assigned, 2);
        for (int i = 0; i < 2; i++) {
            assertEquals(List.of(node.id()),
                    a.partitions().get(i).replicas().stream().map(Node::id).toList());
            assertEquals(node.id(), a.partitions().get(i).leader().id());
        }
        assertNotEquals(d.topicId(), a.topicId());
        // The topic id is the same through describeTopics by id.
        TopicDescription byId = admin.describeTopics(org.apache.kafka.common.TopicCollection.ofTopicIds(
                List.of(a.topicId()))).allTopicIds().get(T, TimeUnit.SECONDS).get(a.topicId());
        assertEquals(assigned, byId.name());

        Set<String> names = admin.listTopics().names().get(T, TimeUnit.SECONDS);
        assertTrue(names.containsAll(Set.of(withConfigs, assigned)));

        admin.deleteTopics(List.of(withConfigs, assigned)).all().get(T, TimeUnit.SECONDS);
        Cluster.await("deleted topics gone from listTopics", () -> {
            try {
                Set<String> now = admin.listTopics().names().get(T, TimeUnit.SECONDS);
                return !now.contains(withConfigs) && !now.contains(assigned);
            } catch (Exception e) {
                return false;
            }
        });
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> admin.describeTopics(List.of(withConfigs)).allTopicNames().get(T, TimeUnit.SECONDS));
        assertInstanceOf(UnknownTopicOrPartitionException.class, e.getCause());
    }

    @Test
    void incrementalAlterConfigsSetDeleteAppendSubtract() throws Exception {
        String topic = Cluster.createTopic(admin, "java-alter", 1, null);
        ConfigEntry before = topicConfig(topic, "retention.ms");
        assertNotEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, before.source());

        alter(topic, new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET));
        ConfigEntry set = topicConfig(topic, "retention.ms");
        assertEquals("7200000", set.value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, set.source());

        alter(topic, new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE));
        ConfigEntry deleted = topicConfig(topic, "retention.ms");
        assertEquals(before.value(), deleted.value());
        assertEquals(before.source(), deleted.source());

        assertEquals("delete", topicConfig(topic, "cleanup.policy").value());
        alter(topic, new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND));
        assertEquals("delete,compact", topicConfig(topic, "cleanup.policy").value());
        alter(topic, new AlterConfigOp(new ConfigEntry("cleanup.policy", "delete"), AlterConfigOp.OpType.SUBTRACT));
        assertEquals("compact", topicConfig(topic, "cleanup.policy").value());

        // Several operations in one request.
        alter(topic, new AlterConfigOp(new ConfigEntry("max.message.bytes", "200000"), AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry("cleanup.policy", ""), AlterConfigOp.OpType.DELETE));
        assertEquals("200000", topicConfig(topic, "max.message.bytes").value());
        assertEquals("delete", topicConfig(topic, "cleanup.policy").value());

        // describeConfigs of the broker itself answers with its settings.
        Node node = Cluster.firstNode(admin);
        ConfigResource br = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(node.id()));
        Config bc = admin.describeConfigs(List.of(br)).all().get(T, TimeUnit.SECONDS).get(br);
        assertNotNull(bc.get("num.partitions"));
        assertTrue(Integer.parseInt(bc.get("num.partitions").value()) >= 1);
    }

    @Test
    void createPartitionsGrowsATopic() throws Exception {
        String topic = Cluster.createTopic(admin, "java-grow", 1, null);
        admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(3))).all().get(T, TimeUnit.SECONDS);
        TopicDescription d = Cluster.awaitLeaders(admin, topic, 3);
        assertEquals(List.of(0, 1, 2), d.partitions().stream().map(p -> p.partition()).toList());
        // The new partitions take writes.
        try (KafkaProducer<String, String> p = Cluster.producer(map())) {
            assertEquals(0, p.send(new ProducerRecord<>(topic, 2, "k", "v")).get(T, TimeUnit.SECONDS).offset());
        }
        // Shrinking is refused.
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(2))).all().get(T, TimeUnit.SECONDS));
        assertEquals("InvalidPartitionsException", e.getCause().getClass().getSimpleName());
    }

    @Test
    void listOffsetsAndDeleteRecords() throws Exception {
        String topic = Cluster.createTopic(admin, "java-offsets", 1, null);
        TopicPartition tp = new TopicPartition(topic, 0);
        long base = System.currentTimeMillis() - 600_000L;
        try (KafkaProducer<String, String> p = Cluster.producer(map())) {
            for (int i = 0; i < 10; i++) {
                // Timestamps rise by a second, except record 6, the latest of all.
                long ts = i == 6 ? base + 100_000 : base + i * 1000L;
                p.send(new ProducerRecord<>(topic, 0, ts, "k" + i, "v" + i));
            }
            p.flush();
        }
        assertEquals(0, offset(tp, OffsetSpec.earliest()).offset());
        assertEquals(10, offset(tp, OffsetSpec.latest()).offset());
        ListOffsetsResultInfo at = offset(tp, OffsetSpec.forTimestamp(base + 3500));
        assertEquals(4, at.offset());
        assertEquals(base + 4000, at.timestamp());
        ListOffsetsResultInfo max = offset(tp, OffsetSpec.maxTimestamp());
        assertEquals(6, max.offset());
        assertEquals(base + 100_000, max.timestamp());

        long low = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp)
                .get(T, TimeUnit.SECONDS).lowWatermark();
        assertEquals(4, low);
        assertEquals(4, offset(tp, OffsetSpec.earliest()).offset());
        assertEquals(10, offset(tp, OffsetSpec.latest()).offset());
        List<String> left = Cluster.readAll(List.of(tp), 6).stream().map(r -> r.value()).toList();
        assertEquals(List.of("v4", "v5", "v6", "v7", "v8", "v9"), left);
        // Deleting past the end is refused.
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(11))).all().get(T, TimeUnit.SECONDS));
        assertEquals("OffsetOutOfRangeException", e.getCause().getClass().getSimpleName());
    }

    static ListOffsetsResultInfo offset(TopicPartition tp, OffsetSpec spec) throws Exception {
        return admin.listOffsets(Map.of(tp, spec)).partitionResult(tp).get(T, TimeUnit.SECONDS);
    }

    @Test
    void consumerGroupAdministration() throws Exception {
        String topic = Cluster.createTopic(admin, "java-groups", 2, null);
        String group = Cluster.unique("java-admin-group");
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        produce(topic, 0, 5);
        produce(topic, 1, 5);
        try (KafkaConsumer<String, String> c = Cluster.consumer(group, map())) {
            c.subscribe(List.of(topic));
            Cluster.await("the member's assignment", () -> {
                c.poll(java.time.Duration.ofMillis(100));
                return c.assignment().size() == 2;
            });
            c.commitSync(Map.of(p0, new OffsetAndMetadata(3), p1, new OffsetAndMetadata(5)));

            // While the member is there: Stable, one member holding both partitions.
            ConsumerGroupDescription d = describeGroup(group);
            assertEquals(group, d.groupId());
            assertEquals("Stable", Api.state(d));
            assertFalse(d.isSimpleConsumerGroup());
            assertEquals("range", d.partitionAssignor());
            assertEquals(1, d.members().size());
            assertEquals(Set.of(p0, p1), d.members().iterator().next().assignment().topicPartitions());
            assertTrue(d.members().iterator().next().consumerId().length() > 0);
            assertNotNull(d.coordinator());
            c.poll(java.time.Duration.ofMillis(100));
        }
        Cluster.await("group " + group + " listed and empty", () -> {
            try {
                return "Empty".equals(Api.consumerGroupStates(admin).get(group));
            } catch (Exception e) {
                return false;
            }
        });
        assertEquals("Empty", Api.state(describeGroup(group)));
        assertTrue(describeGroup(group).members().isEmpty());

        Map<TopicPartition, OffsetAndMetadata> offs = groupOffsets(group);
        assertEquals(Map.of(p0, new OffsetAndMetadata(3), p1, new OffsetAndMetadata(5)), withoutLeaderEpochs(offs));

        admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(1, "moved"))).all()
                .get(T, TimeUnit.SECONDS);
        offs = groupOffsets(group);
        assertEquals(1, offs.get(p0).offset());
        assertEquals("moved", offs.get(p0).metadata());
        assertEquals(5, offs.get(p1).offset());

        admin.deleteConsumerGroupOffsets(group, Set.of(p1)).all().get(T, TimeUnit.SECONDS);
        offs = groupOffsets(group);
        assertEquals(Set.of(p0), offs.keySet());
        // A consumer of the group resumes partition 0 at the altered offset.
        try (KafkaConsumer<String, String> c = Cluster.consumer(group, map())) {
            c.assign(List.of(p0));
            List<String> got = Cluster.drain(c, 4).stream().map(r -> r.value()).toList();
            assertEquals(List.of("v1", "v2", "v3", "v4"), got);
        }

        admin.deleteConsumerGroups(List.of(group)).all().get(T, TimeUnit.SECONDS);
        Cluster.await("group " + group + " gone from listConsumerGroups", () -> {
            try {
                return !Api.consumerGroupStates(admin).containsKey(group);
            } catch (Exception e) {
                return false;
            }
        });
        assertTrue(groupOffsets(group).isEmpty());
    }

    static ConsumerGroupDescription describeGroup(String group) throws Exception {
        return admin.describeConsumerGroups(List.of(group)).all().get(T, TimeUnit.SECONDS).get(group);
    }

    static Map<TopicPartition, OffsetAndMetadata> groupOffsets(String group) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> m =
                admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(T, TimeUnit.SECONDS);
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        m.forEach((k, v) -> {
            if (v != null) {
                out.put(k, v);
            }
        });
        return out;
    }

    static Map<TopicPartition, OffsetAndMetadata> withoutLeaderEpochs(Map<TopicPartition, OffsetAndMetadata> m) {
        return m.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey,
                e -> new OffsetAndMetadata(e.getValue().offset(), e.getValue().metadata())));
    }

    @Test
    void describeLogDirsShowsTheTopicsReplicas() throws Exception {
        String topic = Cluster.createTopic(admin, "java-logdirs", 2, null);
        produce(topic, 0, 20);
        Node node = Cluster.firstNode(admin);
        TopicDescription d = Cluster.awaitLeaders(admin, topic, 2);
        int leader = d.partitions().get(0).leader().id();
        Map<String, LogDirDescription> dirs = admin.describeLogDirs(List.of(leader)).descriptions().get(leader)
                .get(T, TimeUnit.SECONDS);
        assertFalse(dirs.isEmpty());
        ReplicaInfo r0 = null;
        ReplicaInfo r1 = null;
        for (LogDirDescription dir : dirs.values()) {
            if (dir.error() != null) {
                continue;
            }
            r0 = r0 != null ? r0 : dir.replicaInfos().get(new TopicPartition(topic, 0));
            if (d.partitions().get(1).leader().id() == leader) {
                r1 = r1 != null ? r1 : dir.replicaInfos().get(new TopicPartition(topic, 1));
            }
        }
        assertNotNull(r0, "partition 0 in a log dir of node " + leader + ": " + dirs);
        assertTrue(r0.size() > 20 * 4, "partition 0 holds 20 records: " + r0.size());
        if (d.partitions().get(1).leader().id() == leader) {
            assertNotNull(r1);
            assertEquals(0, r1.size());
        }
        assertTrue(node.id() >= 0);
    }

    @Test
    void describeProducersShowsTheIdempotentProducer() throws Exception {
        String topic = Cluster.createTopic(admin, "java-producers", 1, null);
        TopicPartition tp = new TopicPartition(topic, 0);
        long lastTs = System.currentTimeMillis() - 5000;
        try (KafkaProducer<String, String> p = Cluster.producer(map(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.ACKS_CONFIG, "all"))) {
            for (int i = 0; i < 7; i++) {
                p.send(new ProducerRecord<>(topic, 0, lastTs - 6 + i, "k", "v" + i)).get(T, TimeUnit.SECONDS);
            }
        }
        List<ProducerState> states = admin.describeProducers(List.of(tp)).partitionResult(tp)
                .get(T, TimeUnit.SECONDS).activeProducers();
        assertEquals(1, states.size(), "producers: " + states);
        ProducerState s = states.get(0);
        assertTrue(s.producerId() >= 0);
        assertEquals(0, s.producerEpoch());
        assertEquals(6, s.lastSequence());
        assertEquals(lastTs, s.lastTimestamp());
        assertFalse(s.currentTransactionStartOffset().isPresent());

        // A second producer is a second id.
        try (KafkaProducer<String, String> p = Cluster.producer(map(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true))) {
            p.send(new ProducerRecord<>(topic, 0, "k", "again")).get(T, TimeUnit.SECONDS);
        }
        states = admin.describeProducers(List.of(tp)).partitionResult(tp).get(T, TimeUnit.SECONDS).activeProducers();
        assertEquals(2, states.size());
        ProducerState second = states.stream().filter(x -> x.producerId() != s.producerId()).findFirst().get();
        assertEquals(0, second.lastSequence());
    }

    /**
     * DescribeFeatures rides on ApiVersions, which every broker serves: the answer is well formed
     * whatever it lists (this broker advertises no feature flags, like a ZooKeeper-mode Kafka
     * without feature versioning: both maps empty and no finalized epoch).
     */
    @Test
    void describeFeatures() throws Exception {
        FeatureMetadata f = admin.describeFeatures().featureMetadata().get(T, TimeUnit.SECONDS);
        assertNotNull(f.finalizedFeatures());
        assertNotNull(f.supportedFeatures());
        assertNotNull(f.finalizedFeaturesEpoch());
        if (!f.finalizedFeatures().isEmpty()) {
            assertTrue(f.finalizedFeaturesEpoch().isPresent() && f.finalizedFeaturesEpoch().get() >= 0,
                    "finalized features come with their epoch: " + f);
        }
        f.supportedFeatures().forEach((name, range) -> assertTrue(range.minVersion() <= range.maxVersion(), name));
        f.finalizedFeatures().forEach((name, range) -> {
            assertTrue(range.minVersionLevel() <= range.maxVersionLevel(), name);
            assertTrue(f.supportedFeatures().containsKey(name), "finalized " + name + " is supported");
        });
    }

    /**
     * Without an authorizer (neither this broker nor the reference Kafka configures one), the ACL
     * APIs answer SECURITY_DISABLED: describeAcls as a whole, createAcls per binding, deleteAcls per
     * filter.
     */
    @Test
    void aclApisWithoutAnAuthorizerAreSecurityDisabled() throws Exception {
        ExecutionException describe = assertThrows(ExecutionException.class,
                () -> admin.describeAcls(AclBindingFilter.ANY).values().get(T, TimeUnit.SECONDS));
        assertInstanceOf(SecurityDisabledException.class, describe.getCause());

        String topic = Cluster.unique("java-acl");
        AclBinding read = new AclBinding(new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL),
                new AccessControlEntry("User:alice", "*", AclOperation.READ, AclPermissionType.ALLOW));
        AclBinding write = new AclBinding(new ResourcePattern(ResourceType.TOPIC, topic, PatternType.PREFIXED),
                new AccessControlEntry("User:bob", "*", AclOperation.WRITE, AclPermissionType.ALLOW));
        var created = admin.createAcls(List.of(read, write)).values();
        assertEquals(2, created.size());
        for (var future : created.values()) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(T, TimeUnit.SECONDS));
            assertInstanceOf(SecurityDisabledException.class, e.getCause());
        }

        var deleted = admin.deleteAcls(List.of(read.toFilter(), AclBindingFilter.ANY)).values();
        assertEquals(2, deleted.size());
        for (var future : deleted.values()) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(T, TimeUnit.SECONDS));
            assertInstanceOf(SecurityDisabledException.class, e.getCause());
        }
    }

    /**
     * Kafka 3.8's compression levels (KIP-390) and 3.9's remote-log switches are topic configs:
     * created, described with their source, and refused out of range. A ZooKeeper-mode Kafka refuses
     * either remote-log switch set to true.
     */
    @Test
    void compressionLevelsAndRemoteLogSwitchesAreTopicConfigs() throws Exception {
        String topic = Cluster.createTopic(admin, "java-levels", 1, Map.of("compression.type", "zstd",
                "compression.zstd.level", "-5", "compression.gzip.level", "9",
                "remote.log.copy.disable", "false", "remote.log.delete.on.disable", "false"));
        ConfigEntry zstd = topicConfig(topic, "compression.zstd.level");
        assertEquals("-5", zstd.value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, zstd.source());
        assertEquals(ConfigEntry.ConfigType.INT, zstd.type());
        assertEquals("9", topicConfig(topic, "compression.gzip.level").value());
        ConfigEntry lz4 = topicConfig(topic, "compression.lz4.level");
        assertEquals("9", lz4.value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, lz4.source());
        ConfigEntry copy = topicConfig(topic, "remote.log.copy.disable");
        assertEquals("false", copy.value());
        assertEquals(ConfigEntry.ConfigType.BOOLEAN, copy.type());
        assertEquals("false", topicConfig(topic, "remote.log.delete.on.disable").value());

        // Records produced uncompressed are stored with the topic's codec and level, and read back.
        try (KafkaProducer<String, String> p = Cluster.producer(map(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none"))) {
            for (int i = 0; i < 20; i++) {
                p.send(new ProducerRecord<>(topic, 0, "k" + i, "value " + i + " ".repeat(200)));
            }
            p.flush();
        }
        var records = Cluster.readAll(List.of(new TopicPartition(topic, 0)), 20);
        assertEquals(20, records.size());
        assertEquals("value 7" + " ".repeat(200), records.get(7).value());

        alter(topic, new AlterConfigOp(new ConfigEntry("compression.lz4.level", "12"), AlterConfigOp.OpType.SET));
        assertEquals("12", topicConfig(topic, "compression.lz4.level").value());

        for (Map<String, String> bad : List.of(Map.of("compression.gzip.level", "0"),
                Map.of("compression.lz4.level", "18"), Map.of("compression.zstd.level", "23"),
                Map.of("remote.log.copy.disable", "true"), Map.of("remote.log.delete.on.disable", "true"))) {
            String name = Cluster.unique("java-bad-level");
            ExecutionException e = assertThrows(ExecutionException.class, () -> admin.createTopics(
                    List.of(new NewTopic(name, 1, (short) 1).configs(bad))).all().get(T, TimeUnit.SECONDS), bad.toString());
            assertInstanceOf(InvalidConfigurationException.class, e.getCause(), bad.toString());
        }
    }

    /** describeConfigs with includeDocumentation returns a text for each topic and broker config. */
    @Test
    void describeConfigsWithDocumentation() throws Exception {
        String topic = Cluster.createTopic(admin, "java-docs", 1, null);
        ConfigResource t = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Node node = Cluster.firstNode(admin);
        ConfigResource b = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(node.id()));
        Map<ConfigResource, Config> withDocs = admin.describeConfigs(List.of(t, b),
                new DescribeConfigsOptions().includeDocumentation(true)).all().get(T, TimeUnit.SECONDS);
        for (String name : List.of("retention.ms", "cleanup.policy", "compression.type", "compression.zstd.level")) {
            String doc = withDocs.get(t).get(name).documentation();
            assertNotNull(doc, name);
            assertFalse(doc.isBlank(), name);
        }
        for (String name : List.of("num.partitions", "log.retention.hours", "compression.type")) {
            String doc = withDocs.get(b).get(name).documentation();
            assertNotNull(doc, name);
            assertFalse(doc.isBlank(), name);
        }
        Map<ConfigResource, Config> without = admin.describeConfigs(List.of(t)).all().get(T, TimeUnit.SECONDS);
        assertEquals(null, without.get(t).get("retention.ms").documentation());
    }
}
