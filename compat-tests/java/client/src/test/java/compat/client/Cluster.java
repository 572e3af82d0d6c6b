package compat.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * What every test needs: the broker's address (BOOTSTRAP, set by lib/broker_process.py or by
 * whatever points the suite at another cluster), clients configured for it, names no other test
 * (or earlier run against a shared cluster) uses, and bounded waits.
 */
final class Cluster {
    static final Duration WAIT = Duration.ofSeconds(45);

    private Cluster() {}

    static String bootstrap() {
        String b = System.getenv("BOOTSTRAP");
        if (b == null || b.isEmpty()) {
            throw new IllegalStateException("BOOTSTRAP is not set (run through lib/broker_process.py)");
        }
        return b;
    }

    /** A topic or group name with a random suffix. */
    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 12);
    }

    static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 20000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 40000);
        return Admin.create(p);
    }

    static Properties producerProps() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 20000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60000);
        return p;
    }

    static KafkaProducer<String, String> producer(Map<String, Object> extra) {
        Properties p = producerProps();
        p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    static KafkaProducer<byte[], byte[]> bytesProducer(Map<String, Object> extra) {
        Properties p = producerProps();
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    static Properties consumerProps(String group) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 20000);
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 40000);
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        return p;
    }

    static KafkaConsumer<String, String> consumer(String group, Map<String, Object> extra) {
        Properties p = consumerProps(group);
        p.putAll(extra);
        return new KafkaConsumer<>(p);
    }

    static KafkaConsumer<byte[], byte[]> bytesConsumer() {
        return bytesConsumer(map(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 4 << 20,
                ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 8 << 20));
    }

    static KafkaConsumer<byte[], byte[]> bytesConsumer(Map<String, Object> extra) {
        Properties p = consumerProps(null);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.putAll(extra);
        return new KafkaConsumer<>(p);
    }

    /** Creates a topic and waits until its metadata shows every partition with a leader. */
    static String createTopic(Admin admin, String prefix, int partitions, Map<String, String> configs)
            throws Exception {
        String name = unique(prefix);
        NewTopic t = new NewTopic(name, partitions, (short) 1);
        if (configs != null) {
            t.configs(configs);
        }
        admin.createTopics(List.of(t)).all().get(40, TimeUnit.SECONDS);
        awaitLeaders(admin, name, partitions);
        return name;
    }

    static TopicDescription awaitLeaders(Admin admin, String topic, int partitions) {
        TopicDescription[] seen = new TopicDescription[1];
        await("topic " + topic + " with " + partitions + " led partitions", () -> {
            try {
                TopicDescription d =
                        admin.describeTopics(List.of(topic)).allTopicNames().get(20, TimeUnit.SECONDS).get(topic);
                seen[0] = d;
                return d.partitions().size() == partitions
                        && d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty());
            } catch (Exception e) {
                return false;
            }
        });
        return seen[0];
    }

    static Node firstNode(Admin admin) throws Exception {
        Collection<Node> nodes = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS);
        assertTrue(!nodes.isEmpty(), "describeCluster: no nodes");
        return nodes.stream().min((a, b) -> Integer.compare(a.id(), b.id())).get();
    }

    /** Polls `cond` every 100 ms until it holds; fails after WAIT. */
    static void await(String what, BooleanSupplier cond) {
        await(what, WAIT, cond);
    }

    static void await(String what, Duration limit, BooleanSupplier cond) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + limit.toSeconds() + " s waiting for " + what);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted waiting for " + what);
            }
        }
    }

    /** Polls until exactly `count` records have arrived (and none more within a short grace). */
    static <K, V> List<ConsumerRecord<K, V>> drain(KafkaConsumer<K, V> c, int count) {
        List<ConsumerRecord<K, V>> out = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (out.size() < count) {
            if (System.nanoTime() > deadline) {
                fail("timed out: " + out.size() + " of " + count + " records consumed");
            }
            c.poll(Duration.ofMillis(200)).forEach(out::add);
        }
        c.poll(Duration.ofMillis(300)).forEach(out::add);
        assertEquals(count, out.size(), "records consumed");
        return out;
    }

    /** Reads every record of the given partitions from the beginning with a group-less consumer. */
    static List<ConsumerRecord<String, String>> readAll(List<TopicPartition> tps, int count) {
        try (KafkaConsumer<String, String> c = consumer(null, Map.of())) {
            c.assign(tps);
            c.seekToBeginning(tps);
            return drain(c, count);
        }
    }

    static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }
}
