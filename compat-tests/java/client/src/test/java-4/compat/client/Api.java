package compat.client;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * The calls whose spelling differs between the client lines, as kafka-clients 4.x spells them:
 * listGroups, groupState and CloseOptions replace listConsumerGroups, state and close(Duration),
 * which 4.x deprecates for removal (src/test/java-3 holds the 3.x twin).
 */
final class Api {
    private Api() {}

    /** Every consumer group the cluster lists, by id, with its state ("Stable", "Empty", ...). */
    static Map<String, String> consumerGroupStates(Admin admin) throws Exception {
        Map<String, String> out = new HashMap<>();
        for (GroupListing g : admin.listGroups(ListGroupsOptions.forConsumerGroups()).all().get(30, TimeUnit.SECONDS)) {
            out.put(g.groupId(), g.groupState().map(Object::toString).orElse("?"));
        }
        return out;
    }

    static String state(ConsumerGroupDescription d) {
        return d.groupState().toString();
    }

    static void close(KafkaConsumer<?, ?> consumer, Duration timeout) {
        consumer.close(CloseOptions.timeout(timeout));
    }
}
