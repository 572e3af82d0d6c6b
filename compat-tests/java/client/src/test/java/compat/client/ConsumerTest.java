package compat.client;

import static compat.client.Cluster.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** KafkaConsumer: commits read back, seeks, pause/resume, offsetsForTimes. */
class ConsumerTest {
    static Admin admin;

    @BeforeAll
    static void setUp() {
        admin = Cluster.admin();
    }

    @AfterAll
    static void tearDown() {
        admin.close();
    }

    /** Writes `n` records "p<partition>-<i>" to each partition, with timestamps base + i * 1000. */
    static void fill(String topic, int partitions, int n, long base) throws Exception {
        try (KafkaProducer<String, String> p = Cluster.producer(map())) {
            for (int part = 0; part < partitions; part++) {
                for (int i = 0; i < n; i++) {
                    p.send(new ProducerRecord<>(topic, part, base + i * 1000L, "k" + i, "p" + part + "-" + i));
                }
            }
            p.flush();
        }
    }

    @Test
    void commitSyncAndCommitAsyncReadBackThroughCommitted() throws Exception {
        String topic = Cluster.createTopic(admin, "java-commit", 2, null);
        String group = Cluster.unique("java-commit-group");
        fill(topic, 2, 10, System.currentTimeMillis());
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        try (KafkaConsumer<String, String> c = Cluster.consumer(group, map())) {
            c.assign(List.of(p0, p1));
            assertEquals(20, Cluster.drain(c, 20).size());
            c.commitSync(Map.of(p0, new OffsetAndMetadata(7, "seven"), p1, new OffsetAndMetadata(3, "")));
            Map<TopicPartition, OffsetAndMetadata> got = c.committed(Set.of(p0, p1));
            assertEquals(7, got.get(p0).offset());
            assertEquals("seven", got.get(p0).metadata());
            assertEquals(3, got.get(p1).offset());

            // commitSync() with no argument commits the positions: 10 and 10.
            c.commitSync();
            got = c.committed(Set.of(p0, p1));
            assertEquals(10, got.get(p0).offset());
            assertEquals(10, got.get(p1).offset());

            AtomicReference<Map<TopicPartition, OffsetAndMetadata>> cbOffsets = new AtomicReference<>();
            AtomicReference<Exception> cbError = new AtomicReference<>();
            AtomicInteger calls = new AtomicInteger();
            c.commitAsync(Map.of(p0, new OffsetAndMetadata(4, "async"), p1, new OffsetAndMetadata(9)),
                    (offsets, e) -> {
                        cbOffsets.set(offsets);
                        cbError.set(e);
                        calls.incrementAndGet();
                    });
            Cluster.await("the commitAsync callback", () -> {
                c.poll(Duration.ofMillis(100));
                return calls.get() > 0;
            });
            assertEquals(1, calls.get());
            assertNull(cbError.get(), "commitAsync callback exception");
            assertEquals(4, cbOffsets.get().get(p0).offset());
            assertEquals(9, cbOffsets.get().get(p1).offset());
            got = c.committed(Set.of(p0, p1));
            assertEquals(4, got.get(p0).offset());
            assertEquals("async", got.get(p0).metadata());
            assertEquals(9, got.get(p1).offset());
        }
        // A new consumer in the group starts at the committed offsets.
        try (KafkaConsumer<String, String> c = Cluster.consumer(group, map())) {
            c.assign(List.of(p0, p1));
            List<ConsumerRecord<String, String>> rest = Cluster.drain(c, 6 + 1);
            Set<String> values = new HashSet<>();
            rest.forEach(r -> values.add(r.value()));
            assertEquals(Set.of("p0-4", "p0-5", "p0-6", "p0-7", "p0-8", "p0-9", "p1-9"), values);
            assertEquals(4, c.committed(Set.of(p0)).get(p0).offset());
        }
    }

    @Test
    void seekSeekToBeginningAndSeekToEnd() throws Exception {
        String topic = Cluster.createTopic(admin, "java-seek", 1, null);
        fill(topic, 1, 20, System.currentTimeMillis());
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> c = Cluster.consumer(null, map())) {
            c.assign(List.of(tp));
            c.seek(tp, 15);
            assertEquals(15, c.position(tp));
            List<ConsumerRecord<String, String>> got = Cluster.drain(c, 5);
            assertEquals(15, got.get(0).offset());
            assertEquals("p0-15", got.get(0).value());
            assertEquals("p0-19", got.get(4).value());

            c.seekToBeginning(List.of(tp));
            assertEquals(0, c.position(tp));
            got = Cluster.drain(c, 20);
            assertEquals("p0-0", got.get(0).value());

            c.seek(tp, 3);
            c.seekToEnd(List.of(tp));
            assertEquals(20, c.position(tp));
            assertTrue(c.poll(Duration.ofMillis(500)).isEmpty());
            assertEquals(Map.of(tp, 0L), c.beginningOffsets(List.of(tp)));
            assertEquals(Map.of(tp, 20L), c.endOffsets(List.of(tp)));

            // Records written after seekToEnd arrive.
            try (KafkaProducer<String, String> p = Cluster.producer(map())) {
                p.send(new ProducerRecord<>(topic, 0, "late", "after-end")).get(30, TimeUnit.SECONDS);
            }
            got = Cluster.drain(c, 1);
            assertEquals(20, got.get(0).offset());
            assertEquals("after-end", got.get(0).value());
        }
    }

    @Test
    void pauseHoldsBackAPartitionUntilResume() throws Exception {
        String topic = Cluster.createTopic(admin, "java-pause", 2, null);
        fill(topic, 2, 10, System.currentTimeMillis());
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        try (KafkaConsumer<String, String> c = Cluster.consumer(null, map())) {
            c.assign(List.of(p0, p1));
            c.seekToBeginning(List.of(p0, p1));
            c.pause(List.of(p0));
            assertEquals(Set.of(p0), c.paused());
            List<ConsumerRecord<String, String>> got = Cluster.drain(c, 10);
            assertTrue(got.stream().allMatch(r -> r.partition() == 1), "only partition 1 while 0 is paused");
            // Still nothing from the paused partition.
            for (int i = 0; i < 3; i++) {
                assertTrue(c.poll(Duration.ofMillis(200)).isEmpty());
            }
            assertEquals(0, c.position(p0));
            c.resume(List.of(p0));
            assertTrue(c.paused().isEmpty());
            got = Cluster.drain(c, 10);
            List<String> values = new ArrayList<>();
            got.forEach(r -> values.add(r.value()));
            assertEquals(List.of("p0-0", "p0-1", "p0-2", "p0-3", "p0-4", "p0-5", "p0-6", "p0-7", "p0-8", "p0-9"),
                    values);
        }
    }

    @Test
    void offsetsForTimesFindsProducerTimestamps() throws Exception {
        String topic = Cluster.createTopic(admin, "java-times", 2, null);
        long base = System.currentTimeMillis() - 3_600_000L;
        fill(topic, 2, 10, base);
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        try (KafkaConsumer<String, String> c = Cluster.consumer(null, map())) {
            Map<TopicPartition, Long> query = new HashMap<>();
            query.put(p0, base + 4500); // first record at or after: offset 5
            query.put(p1, base); // exactly the first record
            Map<TopicPartition, OffsetAndTimestamp> got = c.offsetsForTimes(query);
            assertEquals(5, got.get(p0).offset());
            assertEquals(base + 5000, got.get(p0).timestamp());
            assertEquals(0, got.get(p1).offset());
            assertEquals(base, got.get(p1).timestamp());

            // Later than every record: no offset.
            got = c.offsetsForTimes(Map.of(p0, base + 60_000));
            assertTrue(got.containsKey(p0));
            assertNull(got.get(p0));

            // The record found carries the producer's timestamp.
            c.assign(List.of(p0));
            c.seek(p0, c.offsetsForTimes(Map.of(p0, base + 7000)).get(p0).offset());
            ConsumerRecord<String, String> r = Cluster.drain(c, 3).get(0);
            assertEquals(7, r.offset());
            assertEquals(base + 7000, r.timestamp());
            assertNotNull(r.timestampType());
            assertEquals("CreateTime", r.timestampType().name);
        }
    }

    @Test
    void autoCommitCommitsThePositionOnClose() throws Exception {
        String topic = Cluster.createTopic(admin, "java-autocommit", 1, null);
        String group = Cluster.unique("java-autocommit-group");
        fill(topic, 1, 12, System.currentTimeMillis());
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> c = Cluster.consumer(group, map(
                     ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, true,
                     ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, 200))) {
            c.subscribe(List.of(topic));
            assertEquals(12, Cluster.drain(c, 12).size());
            assertEquals(12, c.position(tp));
            assertEquals(OptionalLong.of(0), c.currentLag(tp));
        }
        try (KafkaConsumer<String, String> c = Cluster.consumer(group, map())) {
            assertEquals(12, c.committed(Set.of(tp)).get(tp).offset());
        }
    }

    @Test
    void readCommittedConsumerAndMetadataCalls() throws Exception {
        String topic = Cluster.createTopic(admin, "java-readcommitted", 3, null);
        fill(topic, 3, 4, System.currentTimeMillis());
        try (KafkaConsumer<String, String> c = Cluster.consumer(null, map(
                     ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            List<PartitionInfo> infos = c.partitionsFor(topic);
            assertEquals(List.of(0, 1, 2), infos.stream().map(PartitionInfo::partition).sorted().toList());
            for (PartitionInfo i : infos) {
                assertNotNull(i.leader());
                assertEquals(1, i.replicas().length);
                assertEquals(i.leader().id(), i.inSyncReplicas()[0].id());
            }
            assertTrue(c.listTopics().containsKey(topic));
            assertEquals(3, c.listTopics().get(topic).size());
            List<TopicPartition> tps = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1),
                    new TopicPartition(topic, 2));
            // Without transactions the last stable offset is the high watermark.
            assertEquals(Map.of(tps.get(0), 4L, tps.get(1), 4L, tps.get(2), 4L), c.endOffsets(tps));
            c.assign(tps);
            c.seekToBeginning(tps);
            Set<String> values = new HashSet<>();
            Cluster.drain(c, 12).forEach(r -> values.add(r.value()));
            assertEquals(12, values.size());
            assertTrue(values.contains("p2-3"));
        }
        try (KafkaProducer<String, String> p = Cluster.producer(map())) {
            assertEquals(3, p.partitionsFor(topic).size());
        }
    }
}
