package compat.client;

import static compat.client.Cluster.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What the client raises for requests the cluster refuses, and for offsets it cannot serve. */
class ErrorsTest {
    static Admin admin;

    @BeforeAll
    static void setUp() {
        admin = Cluster.admin();
    }

    @AfterAll
    static void tearDown() {
        admin.close();
    }

    static Throwable cause(KafkaFuture<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void createTopicsRefusals() throws Exception {
        String existing = Cluster.createTopic(admin, "java-err-exists", 1, null);
        assertInstanceOf(TopicExistsException.class,
                cause(admin.createTopics(List.of(new NewTopic(existing, 1, (short) 1))).all()));

        int nodes = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size();
        assertInstanceOf(InvalidReplicationFactorException.class, cause(admin.createTopics(
                List.of(new NewTopic(Cluster.unique("java-err-rf"), 1, (short) (nodes + 1)))).all()));

        assertInstanceOf(InvalidConfigurationException.class, cause(admin.createTopics(List.of(
                new NewTopic(Cluster.unique("java-err-value"), 1, (short) 1).configs(Map.of("retention.ms", "soon"))))
                .all()));

        assertInstanceOf(InvalidTopicException.class,
                cause(admin.createTopics(List.of(new NewTopic("java err bad name!", 1, (short) 1))).all()));

        // validateOnly checks and creates nothing.
        String dry = Cluster.unique("java-err-dry");
        admin.createTopics(List.of(new NewTopic(dry, 2, (short) 1)), new CreateTopicsOptions().validateOnly(true))
                .all().get(30, TimeUnit.SECONDS);
        assertFalse(admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(dry));
        assertInstanceOf(UnknownTopicOrPartitionException.class,
                cause(admin.describeTopics(List.of(dry)).allTopicNames()));
    }

    @Test
    void requestsForMissingTopicsAndBadConfigs() throws Exception {
        String missing = Cluster.unique("java-err-missing");
        assertInstanceOf(UnknownTopicOrPartitionException.class, cause(admin.deleteTopics(List.of(missing)).all()));
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, missing);
        assertInstanceOf(UnknownTopicOrPartitionException.class, cause(admin.describeConfigs(List.of(r)).all()));
        assertInstanceOf(UnknownTopicOrPartitionException.class, cause(admin.incrementalAlterConfigs(Map.of(r,
                List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "1000"), AlterConfigOp.OpType.SET)))).all()));

        String topic = Cluster.createTopic(admin, "java-err-configs", 1, null);
        ConfigResource t = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        assertInstanceOf(InvalidConfigurationException.class, cause(admin.incrementalAlterConfigs(Map.of(t,
                List.of(new AlterConfigOp(new ConfigEntry("no.such.setting", "1"), AlterConfigOp.OpType.SET)))).all()));
        assertInstanceOf(InvalidConfigurationException.class, cause(admin.incrementalAlterConfigs(Map.of(t,
                List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "later"), AlterConfigOp.OpType.SET)))).all()));
        // Nothing of the refused requests stuck.
        ConfigEntry e = admin.describeConfigs(List.of(t)).all().get(30, TimeUnit.SECONDS).get(t).get("retention.ms");
        assertNotEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, e.source());

        assertInstanceOf(InvalidPartitionsException.class,
                cause(admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(1))).all()));
        TopicPartition tp = new TopicPartition(topic, 0);
        assertEquals(0, admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp)
                .get(30, TimeUnit.SECONDS).offset());
    }

    @Test
    void consumerWithoutResetPolicyRaisesOnMissingOrOutOfRangeOffsets() throws Exception {
        String topic = Cluster.createTopic(admin, "java-err-reset", 1, null);
        try (KafkaProducer<String, String> p = Cluster.producer(map())) {
            for (int i = 0; i < 5; i++) {
                p.send(new ProducerRecord<>(topic, 0, "k", "v" + i));
            }
            p.flush();
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        Map<String, Object> none = map(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        try (KafkaConsumer<String, String> c = Cluster.consumer(Cluster.unique("java-err-group"), none)) {
            c.assign(List.of(tp));
            // No committed offset and no reset policy.
            NoOffsetForPartitionException e =
                    assertThrows(NoOffsetForPartitionException.class, () -> c.poll(Duration.ofSeconds(10)));
            assertEquals(java.util.Set.of(tp), e.partitions());
        }
        try (KafkaConsumer<String, String> c = Cluster.consumer(null, none)) {
            c.assign(List.of(tp));
            c.seek(tp, 50);
            OffsetOutOfRangeException e = assertThrows(OffsetOutOfRangeException.class, () -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (System.nanoTime() < deadline) {
                    c.poll(Duration.ofMillis(200));
                }
            });
            assertEquals(Map.of(tp, 50L), e.offsetOutOfRangePartitions());
        }
        // With auto.offset.reset=earliest the same seek falls back to the first record.
        try (KafkaConsumer<String, String> c = Cluster.consumer(null, map())) {
            c.assign(List.of(tp));
            c.seek(tp, 50);
            List<ConsumerRecord<String, String>> got = Cluster.drain(c, 5);
            assertEquals(0, got.get(0).offset());
            assertEquals("v0", got.get(0).value());
            assertTrue(got.stream().allMatch(x -> x.partition() == 0));
        }
    }
}
