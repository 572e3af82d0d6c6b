package compat.client;

import static compat.client.Cluster.map;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** KafkaProducer: acks, idempotence, every codec, headers, record size limits, in-flight ordering. */
class ProducerTest {
    static Admin admin;

    @BeforeAll
    static void setUp() {
        admin = Cluster.admin();
    }

    @AfterAll
    static void tearDown() {
        admin.close();
    }

    @ParameterizedTest(name = "acks={0}")
    @ValueSource(strings = {"0", "1", "all"})
    void acksLevelsDeliverEveryRecord(String acks) throws Exception {
        String topic = Cluster.createTopic(admin, "java-acks", 1, null);
        Map<String, Object> cfg = map(ProducerConfig.ACKS_CONFIG, acks);
        if (!acks.equals("all")) {
            cfg.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false); // idempotence needs acks=all
        }
        List<RecordMetadata> metas = new ArrayList<>();
        try (KafkaProducer<String, String> p = Cluster.producer(cfg)) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                fs.add(p.send(new ProducerRecord<>(topic, 0, "k" + i, "v" + i)));
            }
            p.flush();
            for (Future<RecordMetadata> f : fs) {
                metas.add(f.get(30, TimeUnit.SECONDS));
            }
        }
        for (int i = 0; i < 50; i++) {
            RecordMetadata m = metas.get(i);
            assertEquals(topic, m.topic());
            assertEquals(0, m.partition());
            if (acks.equals("0")) {
                assertFalse(m.hasOffset(), "acks=0 gets no offset back");
            } else {
                assertEquals(i, m.offset(), "offset of record " + i);
            }
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        // Idempotence is the default with acks=all: the partition knows the producer and its last
        // sequence; the others wrote without a producer id.
        List<ProducerState> producers = admin.describeProducers(List.of(tp)).partitionResult(tp)
                .get(30, TimeUnit.SECONDS).activeProducers();
        if (acks.equals("all")) {
            assertEquals(1, producers.size(), "producers: " + producers);
            assertEquals(49, producers.get(0).lastSequence());
        } else {
            assertEquals(List.of(), producers);
        }
        List<ConsumerRecord<String, String>> got = Cluster.readAll(List.of(tp), 50);
        for (int i = 0; i < 50; i++) {
            assertEquals(i, got.get(i).offset());
            assertEquals("k" + i, got.get(i).key());
            assertEquals("v" + i, got.get(i).value());
        }
    }

    @ParameterizedTest(name = "compression.type={0}")
    @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
    void everyCodecReadsBackExactly(String codec) throws Exception {
        String topic = Cluster.createTopic(admin, "java-codec-" + codec, 1, null);
        Random rnd = new Random(codec.hashCode());
        List<byte[]> values = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            // Half compressible text, half random bytes, of varied sizes.
            byte[] v;
            if (i % 2 == 0) {
                v = ("record " + i + " ").repeat(1 + i % 40).getBytes(StandardCharsets.UTF_8);
            } else {
                v = new byte[1 + rnd.nextInt(3000)];
                rnd.nextBytes(v);
            }
            values.add(v);
        }
        try (KafkaProducer<byte[], byte[]> p = Cluster.bytesProducer(
                     map(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec, ProducerConfig.LINGER_MS_CONFIG, 20))) {
            for (int i = 0; i < values.size(); i++) {
                p.send(new ProducerRecord<>(topic, 0, ("k" + i).getBytes(StandardCharsets.UTF_8), values.get(i)));
            }
            p.flush();
        }
        try (KafkaConsumer<byte[], byte[]> c = Cluster.bytesConsumer()) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            List<ConsumerRecord<byte[], byte[]>> got = Cluster.drain(c, values.size());
            for (int i = 0; i < values.size(); i++) {
                assertEquals(i, got.get(i).offset());
                assertEquals("k" + i, new String(got.get(i).key(), StandardCharsets.UTF_8));
                assertArrayEquals(values.get(i), got.get(i).value(), "value of record " + i + " with " + codec);
            }
        }
    }

    @Test
    void headersIncludingNullValuesReadBack() throws Exception {
        String topic = Cluster.createTopic(admin, "java-headers", 1, null);
        try (KafkaProducer<String, String> p = Cluster.producer(map())) {
            ProducerRecord<String, String> r = new ProducerRecord<>(topic, 0, "key", "value");
            r.headers().add("trace", "abc-123".getBytes(StandardCharsets.UTF_8));
            r.headers().add("empty", new byte[0]);
            r.headers().add("nothing", null);
            r.headers().add("trace", "second".getBytes(StandardCharsets.UTF_8));
            p.send(r).get(30, TimeUnit.SECONDS);
            p.send(new ProducerRecord<>(topic, 0, null, null)).get(30, TimeUnit.SECONDS);
        }
        List<ConsumerRecord<String, String>> got = Cluster.readAll(List.of(new TopicPartition(topic, 0)), 2);
        Header[] hs = got.get(0).headers().toArray();
        assertEquals(4, hs.length);
        assertEquals("trace", hs[0].key());
        assertArrayEquals("abc-123".getBytes(StandardCharsets.UTF_8), hs[0].value());
        assertEquals("empty", hs[1].key());
        assertArrayEquals(new byte[0], hs[1].value());
        assertEquals("nothing", hs[2].key());
        assertNull(hs[2].value());
        assertEquals("trace", hs[3].key());
        assertArrayEquals("second".getBytes(StandardCharsets.UTF_8), hs[3].value());
        assertEquals(2, Arrays.stream(got.get(0).headers().toArray()).filter(h -> h.key().equals("trace")).count());
        assertEquals(new RecordHeader("trace", "second".getBytes(StandardCharsets.UTF_8)),
                got.get(0).headers().lastHeader("trace"));
        assertEquals(0, got.get(1).headers().toArray().length);
        assertNull(got.get(1).key());
        assertNull(got.get(1).value());
    }

    @Test
    void largeRecordUnderTheDefaultLimitRoundTrips() throws Exception {
        String topic = Cluster.createTopic(admin, "java-large", 1, null);
        byte[] big = new byte[900 * 1024];
        new Random(7).nextBytes(big);
        RecordMetadata m;
        try (KafkaProducer<byte[], byte[]> p = Cluster.bytesProducer(map())) {
            m = p.send(new ProducerRecord<>(topic, 0, null, big)).get(30, TimeUnit.SECONDS);
        }
        assertEquals(0, m.offset());
        assertEquals(big.length, m.serializedValueSize());
        try (KafkaConsumer<byte[], byte[]> c = Cluster.bytesConsumer()) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            assertArrayEquals(big, Cluster.drain(c, 1).get(0).value());
        }
        // A fetch limit far below the record still returns it whole (the first batch always is).
        try (KafkaConsumer<byte[], byte[]> c = Cluster.bytesConsumer(map(
                     ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 1024, ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 2048))) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            assertArrayEquals(big, Cluster.drain(c, 1).get(0).value());
        }
    }

    @Test
    void recordOverMaxRequestSizeIsRefusedByTheProducer() throws Exception {
        String topic = Cluster.createTopic(admin, "java-too-large-request", 1, null);
        try (KafkaProducer<byte[], byte[]> p = Cluster.bytesProducer(map())) {
            byte[] tooBig = new byte[1100 * 1024]; // over the 1 MiB default max.request.size
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> p.send(new ProducerRecord<>(topic, 0, null, tooBig)).get(30, TimeUnit.SECONDS));
            assertInstanceOf(RecordTooLargeException.class, e.getCause());
        }
    }

    @Test
    void recordOverTheTopicsMaxMessageBytesIsRefusedByTheBroker() throws Exception {
        String topic = Cluster.createTopic(admin, "java-too-large-topic", 1, Map.of("max.message.bytes", "100000"));
        try (KafkaProducer<byte[], byte[]> p = Cluster.bytesProducer(map(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 << 20))) {
            byte[] fits = new byte[50000];
            assertEquals(0, p.send(new ProducerRecord<>(topic, 0, null, fits)).get(30, TimeUnit.SECONDS).offset());
            byte[] tooBig = new byte[200000];
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> p.send(new ProducerRecord<>(topic, 0, null, tooBig)).get(30, TimeUnit.SECONDS));
            assertInstanceOf(RecordTooLargeException.class, e.getCause());
            // The producer is still usable afterwards.
            assertEquals(1, p.send(new ProducerRecord<>(topic, 0, null, fits)).get(30, TimeUnit.SECONDS).offset());
        }
    }

    @ParameterizedTest(name = "max.in.flight.requests.per.connection={0}")
    @ValueSource(ints = {1, 5})
    void idempotentProducerKeepsOrderWithoutDuplicates(int inFlight) throws Exception {
        String topic = Cluster.createTopic(admin, "java-inflight-" + inFlight, 2, null);
        int n = 5000;
        try (KafkaProducer<String, String> p = Cluster.producer(map(
                     ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                     ProducerConfig.ACKS_CONFIG, "all",
                     ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, inFlight,
                     ProducerConfig.BATCH_SIZE_CONFIG, 2048,
                     ProducerConfig.LINGER_MS_CONFIG, 1))) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                fs.add(p.send(new ProducerRecord<>(topic, i % 2, null, String.valueOf(i))));
            }
            p.flush();
            for (int i = 0; i < n; i++) {
                assertEquals(i / 2, fs.get(i).get(30, TimeUnit.SECONDS).offset(), "offset of record " + i);
            }
        }
        List<TopicPartition> tps = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1));
        List<ConsumerRecord<String, String>> got = Cluster.readAll(tps, n);
        long[] next = {0, 1};
        for (ConsumerRecord<String, String> r : got) {
            int part = r.partition();
            assertEquals(next[part], Long.parseLong(r.value()), "sequence in partition " + part);
            assertEquals((next[part] - part) / 2, r.offset());
            next[part] += 2;
        }
        assertEquals(n, next[0]);
        assertEquals(n + 1, next[1]);
        assertTrue(got.stream().allMatch(r -> r.topic().equals(topic)));
    }
}
