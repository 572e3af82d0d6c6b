package compat.client;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * The calls whose spelling differs between the client lines, as kafka-clients 3.x spells them
 * (src/test/java-4 holds the 4.x twin; pom.xml compiles the one for the version it builds).
 */
final class Api {
    private Api() {}

    /** Every consumer group the cluster lists, by id, with its state ("Stable", "Empty", ...). */
    static Map<String, String> consumerGroupStates(Admin admin) throws Exception {
        Map<String, String> out = new HashMap<>();
        for (ConsumerGroupListing g : admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS)) {
            out.put(g.groupId(), g.state().map(Object::toString).orElse("?"));
        }
        return out;
    }

    static String state(ConsumerGroupDescription d) {
        return d.state().toString();
    }

    static void close(KafkaConsumer<?, ?> consumer, Duration timeout) {
        consumer.close(timeout);
    }
}
