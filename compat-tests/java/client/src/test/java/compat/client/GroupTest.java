package compat.client;

import static compat.client.Cluster.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Consumer groups: range and cooperative-sticky assignment, static membership, the rebalance listener. */
class GroupTest {
    static Admin admin;

    @BeforeAll
    static void setUp() {
        admin = Cluster.admin();
    }

    @AfterAll
    static void tearDown() {
        admin.close();
    }

    /** One listener event: "assigned", "revoked" or "lost", with its partitions. */
    record Event(String kind, Set<TopicPartition> partitions) {}

    /** A group member that records what its rebalance listener is told, and what it consumes. */
    static final class Member implements ConsumerRebalanceListener, AutoCloseable {
        final KafkaConsumer<String, String> consumer;
        final List<Event> events = new CopyOnWriteArrayList<>();
        final List<ConsumerRecord<String, String>> records = new ArrayList<>();

        Member(String group, String topic, Map<String, Object> extra) {
            Map<String, Object> cfg = new HashMap<>(map(
                    ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10000,
                    ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500));
            cfg.putAll(extra);
            consumer = Cluster.consumer(group, cfg);
            consumer.subscribe(List.of(topic), this);
        }

        void poll() {
            consumer.poll(Duration.ofMillis(100)).forEach(records::add);
        }

        Set<TopicPartition> assignment() {
            return consumer.assignment();
        }

        List<Event> eventsOf(String kind) {
            return events.stream().filter(e -> e.kind.equals(kind)).toList();
        }

        /** The calls that named at least one partition (the eager protocol also reports empty revocations). */
        List<Event> changes() {
            return events.stream().filter(e -> !e.partitions.isEmpty()).toList();
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            events.add(new Event("assigned", Set.copyOf(partitions)));
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            events.add(new Event("revoked", Set.copyOf(partitions)));
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            events.add(new Event("lost", Set.copyOf(partitions)));
        }

        @Override
        public void close() {
            Api.close(consumer, Duration.ofSeconds(20));
        }
    }

    static Set<TopicPartition> partitions(String topic, int n) {
        Set<TopicPartition> s = new HashSet<>();
        for (int i = 0; i < n; i++) {
            s.add(new TopicPartition(topic, i));
        }
        return s;
    }

    /** Polls every member until the assignments are those sizes, disjoint, and cover `all`. */
    static void awaitSplit(Set<TopicPartition> all, List<Member> members, int... sizes) {
        Cluster.await("assignment sizes " + java.util.Arrays.toString(sizes), () -> {
            members.forEach(Member::poll);
            Set<TopicPartition> union = new HashSet<>();
            for (int i = 0; i < members.size(); i++) {
                Set<TopicPartition> a = members.get(i).assignment();
                if (a.size() != sizes[i]) {
                    return false;
                }
                union.addAll(a);
            }
            return union.equals(all);
        });
    }

    static void produceOnePerPartition(String topic, int partitions, String tag) throws Exception {
        try (KafkaProducer<String, String> p = Cluster.producer(map())) {
            for (int i = 0; i < partitions; i++) {
                p.send(new ProducerRecord<>(topic, i, "k", tag + "-" + i));
            }
            p.flush();
        }
    }

    /** Polls both members until `count` records with the tag arrived; each got its own partitions'. */
    static void awaitRecords(List<Member> members, String tag, int count) {
        Cluster.await(count + " records tagged " + tag, () -> {
            members.forEach(Member::poll);
            return members.stream().mapToLong(m -> m.records.stream().filter(r -> r.value().startsWith(tag)).count())
                    .sum() >= count;
        });
        for (Member m : members) {
            for (ConsumerRecord<String, String> r : m.records) {
                if (r.value().startsWith(tag)) {
                    assertTrue(m.assignment().contains(new TopicPartition(r.topic(), r.partition())),
                            "record " + r.value() + " consumed by the member owning its partition");
                    assertEquals(tag + "-" + r.partition(), r.value());
                }
            }
        }
        long total = members.stream().mapToLong(m -> m.records.stream().filter(r -> r.value().startsWith(tag)).count())
                .sum();
        assertEquals(count, total, "records tagged " + tag);
    }

    @Test
    void rangeTwoMembersSplitAndTheSurvivorTakesAll() throws Exception {
        String topic = Cluster.createTopic(admin, "java-range", 4, null);
        String group = Cluster.unique("java-range-group");
        Set<TopicPartition> all = partitions(topic, 4);
        Map<String, Object> cfg = map(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RangeAssignor.class.getName());
        try (Member a = new Member(group, topic, cfg)) {
            awaitSplit(all, List.of(a), 4);
            try (Member b = new Member(group, topic, cfg)) {
                awaitSplit(all, List.of(a, b), 2, 2);
                // Range gives each member a contiguous pair.
                for (Member m : List.of(a, b)) {
                    List<Integer> ps = m.assignment().stream().map(TopicPartition::partition).sorted().toList();
                    assertEquals(ps.get(0) + 1, ps.get(1), "range assignment " + ps);
                }
                produceOnePerPartition(topic, 4, "split");
                awaitRecords(List.of(a, b), "split", 4);
                // Eager protocol: a revoked everything before the split.
                assertTrue(a.eventsOf("revoked").stream().anyMatch(e -> e.partitions.equals(all)));
            }
            awaitSplit(all, List.of(a), 4);
            produceOnePerPartition(topic, 4, "after");
            awaitRecords(List.of(a), "after", 4);
            assertTrue(a.eventsOf("lost").isEmpty());
        }
    }

    @Test
    void cooperativeStickyRebalancesIncrementally() throws Exception {
        String topic = Cluster.createTopic(admin, "java-coop", 4, null);
        String group = Cluster.unique("java-coop-group");
        Set<TopicPartition> all = partitions(topic, 4);
        Map<String, Object> cfg = map(
                ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        try (Member a = new Member(group, topic, cfg)) {
            awaitSplit(all, List.of(a), 4);
            assertEquals(List.of(new Event("assigned", all)), a.changes());
            Set<TopicPartition> bHad;
            try (Member b = new Member(group, topic, cfg)) {
                awaitSplit(all, List.of(a, b), 2, 2);
                // a gave up only the two partitions that moved, and kept the others throughout.
                List<Event> revoked = a.eventsOf("revoked");
                assertEquals(1, revoked.size(), "a's revocations: " + a.events);
                assertEquals(2, revoked.get(0).partitions.size());
                Set<TopicPartition> kept = new HashSet<>(all);
                kept.removeAll(revoked.get(0).partitions);
                assertEquals(kept, a.assignment());
                assertEquals(revoked.get(0).partitions, b.assignment());
                // b's partitions arrive in one incremental assignment, and a is told of nothing new.
                assertEquals(b.assignment(),
                        b.eventsOf("assigned").stream().flatMap(e -> e.partitions.stream()).collect(
                                java.util.stream.Collectors.toSet()));
                assertTrue(a.eventsOf("assigned").stream().skip(1).allMatch(e -> e.partitions.isEmpty()),
                        "a's later assignments add nothing: " + a.events);
                produceOnePerPartition(topic, 4, "coop");
                awaitRecords(List.of(a, b), "coop", 4);
                bHad = b.assignment();
                a.events.clear();
            }
            awaitSplit(all, List.of(a), 4);
            // The survivor only gains b's partitions; nothing of its own is revoked.
            assertTrue(a.eventsOf("revoked").stream().allMatch(e -> e.partitions.isEmpty()), "a: " + a.events);
            Set<TopicPartition> gained = new HashSet<>();
            a.eventsOf("assigned").forEach(e -> gained.addAll(e.partitions));
            assertEquals(bHad, gained);
            assertTrue(a.eventsOf("lost").isEmpty());
        }
    }

    @Test
    void staticMemberRestartKeepsItsPartitionsWithoutARebalance() throws Exception {
        String topic = Cluster.createTopic(admin, "java-static", 4, null);
        String group = Cluster.unique("java-static-group");
        Set<TopicPartition> all = partitions(topic, 4);
        Map<String, Object> base = map(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RangeAssignor.class.getName(),
                ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 30000);
        Map<String, Object> cfgA = new HashMap<>(base);
        cfgA.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "member-a");
        Map<String, Object> cfgB = new HashMap<>(base);
        cfgB.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "member-b");
        try (Member b = new Member(group, topic, cfgB)) {
            Set<TopicPartition> aHad;
            Member a = new Member(group, topic, cfgA);
            try {
                awaitSplit(all, List.of(a, b), 2, 2);
                aHad = Set.copyOf(a.assignment());
            } finally {
                a.close(); // a static member leaves no LeaveGroup behind: the group keeps its slot
            }
            int generation = b.consumer.groupMetadata().generationId();
            Set<TopicPartition> bHas = Set.copyOf(b.assignment());
            int bEvents = b.events.size();
            try (Member again = new Member(group, topic, cfgA)) {
                Cluster.await("the restarted static member's assignment", () -> {
                    again.poll();
                    b.poll();
                    return !again.assignment().isEmpty();
                });
                assertEquals(aHad, again.assignment());
                // Keep both polling a while: b sees no rebalance at all.
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                while (System.nanoTime() < until) {
                    again.poll();
                    b.poll();
                }
                assertEquals(bHas, b.assignment());
                assertEquals(bEvents, b.events.size(), "b's listener calls: " + b.events);
                assertEquals(generation, b.consumer.groupMetadata().generationId());
                assertEquals(aHad, again.assignment());
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all()
                        .get(30, TimeUnit.SECONDS).get(group);
                Set<String> instances = new HashSet<>();
                d.members().forEach(m -> instances.add(m.groupInstanceId().orElse("")));
                assertEquals(Set.of("member-a", "member-b"), instances);
            }
        }
    }

    @Test
    void listenerIsToldOfLostPartitionsWhenTheMemberIsRemoved() throws Exception {
        String topic = Cluster.createTopic(admin, "java-lost", 2, null);
        String group = Cluster.unique("java-lost-group");
        Set<TopicPartition> all = partitions(topic, 2);
        try (Member a = new Member(group, topic, map(
                     ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RangeAssignor.class.getName()))) {
            awaitSplit(all, List.of(a), 2);
            assertEquals(List.of(new Event("assigned", all)), a.changes());
            a.events.clear();
            // The admin removes every member; a's next heartbeat is refused, so its partitions are lost
            // (not revoked: it no longer owns them), and it rejoins and gets them back.
            admin.removeMembersFromConsumerGroup(group, new RemoveMembersFromConsumerGroupOptions()).all()
                    .get(30, TimeUnit.SECONDS);
            Cluster.await("onPartitionsLost and a new assignment", () -> {
                a.poll();
                return !a.eventsOf("lost").isEmpty() && !a.eventsOf("assigned").isEmpty()
                        && a.assignment().equals(all);
            });
            assertEquals(List.of(new Event("lost", all), new Event("assigned", all)), a.changes());
        }
    }
}
