// The fetch session cache (KIP-227) on its own: session creation, incremental requests (added,
// updated, forgotten partitions; only changed partitions answered), session errors, and Kafka's
// eviction rules. Time is passed in, so nothing here sleeps.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "server/fetch_session.h"

namespace broker::server {
namespace {

using protocol::error_code;
using kind = fetch_context::kind;

}  // namespace

// Readable failure messages.
void PrintTo(const fetch_key& key, std::ostream* out) {
    *out << (key.topic.empty() ? key.topic_id.to_string() : key.topic) << "-" << key.partition;
}

namespace {

fetch_key name_key(const std::string& topic, int32_t partition) {
    fetch_key key;
    key.topic = topic;
    key.partition = partition;
    return key;
}

fetch_key id_key(uint8_t seed, int32_t partition) {
    fetch_key key;
    for (std::size_t i = 0; i < key.topic_id.bytes.size(); ++i) {
        key.topic_id.bytes[i] = static_cast<uint8_t>(seed + i);
    }
    key.partition = partition;
    return key;
}

fetch_partition_request ask(const fetch_key& key, int64_t offset = 0, int32_t max_bytes = 1024) {
    fetch_partition_request r;
    r.key = key;
    r.fetch_offset = offset;
    r.partition_max_bytes = max_bytes;
    return r;
}

// A response entry as the handler would build it.
fetch_partition_response answer(const fetch_key& key, int64_t high_watermark, int64_t log_start = 0,
                                bool with_records = false, int16_t error = 0) {
    fetch_partition_response r;
    r.key = key;
    r.data.partition_index = key.partition;
    r.data.error_code = error;
    r.data.high_watermark = high_watermark;
    r.data.last_stable_offset = high_watermark;
    r.data.log_start_offset = log_start;
    r.data.records.emplace();
    if (with_records) {
        r.data.records->regions.push_back(protocol::file_region{3, 0, 100, nullptr});
    }
    return r;
}

std::vector<fetch_key> keys_of(const std::vector<fetch_partition_response>& responses) {
    std::vector<fetch_key> out;
    for (const auto& r : responses) {
        out.push_back(r.key);
    }
    return out;
}

std::vector<fetch_key> keys_of(const std::vector<fetch_partition_request>& requests) {
    std::vector<fetch_key> out;
    for (const auto& r : requests) {
        out.push_back(r.key);
    }
    return out;
}

const fetch_key a0 = name_key("a", 0);
const fetch_key a1 = name_key("a", 1);
const fetch_key b0 = name_key("b", 0);

// Creates a session over `keys` (all at high watermark 10) and returns its id.
int32_t create_session(fetch_session_cache& cache, const std::vector<fetch_key>& keys,
                       int64_t now_ms = 0, bool follower = false, bool topic_ids = false) {
    std::vector<fetch_partition_request> data;
    std::vector<fetch_partition_response> responses;
    for (const fetch_key& k : keys) {
        data.push_back(ask(k));
        responses.push_back(answer(k, 10));
    }
    fetch_context context = cache.new_context({0, 0}, topic_ids, follower, data, {}, now_ms);
    EXPECT_EQ(context.type(), kind::full);
    const fetch_completion done = cache.complete(context, responses, now_ms);
    EXPECT_EQ(done.error, error_code::none);
    EXPECT_EQ(responses.size(), keys.size()) << "a full response lists every partition";
    return done.session_id;
}

// One incremental round that lists nothing and expects `expected` in the response, given the
// responses the handler produced for the session's partitions (in session order).
std::vector<fetch_key> incremental_round(
    fetch_session_cache& cache, int32_t id, int32_t epoch,
    const std::function<fetch_partition_response(const fetch_key&)>& respond, int64_t now_ms = 0) {
    fetch_context context = cache.new_context({id, epoch}, false, false, {}, {}, now_ms);
    EXPECT_EQ(context.type(), kind::incremental);
    std::vector<fetch_partition_response> responses;
    for (const fetch_partition_request& r : context.partitions()) {
        responses.push_back(respond(r.key));
    }
    const fetch_completion done = cache.complete(context, responses, now_ms);
    EXPECT_EQ(done.error, error_code::none);
    EXPECT_EQ(done.session_id, id);
    return keys_of(responses);
}

TEST(fetch_metadata, next_epoch_wraps_past_zero_and_keeps_final) {
    EXPECT_EQ(fetch_metadata::next_epoch(0), 1);
    EXPECT_EQ(fetch_metadata::next_epoch(41), 42);
    EXPECT_EQ(fetch_metadata::next_epoch(std::numeric_limits<int32_t>::max()), 1);
    EXPECT_EQ(fetch_metadata::next_epoch(-1), -1);
    EXPECT_TRUE((fetch_metadata{0, -1}.is_full()));
    EXPECT_TRUE((fetch_metadata{7, 0}.is_full()));
    EXPECT_FALSE((fetch_metadata{7, 3}.is_full()));
}

TEST(fetch_session_cache, sessionless_fetch_creates_nothing) {
    fetch_session_cache cache(10);
    fetch_context context = cache.new_context({0, -1}, false, false, {ask(a0), ask(b0)}, {}, 0);
    EXPECT_EQ(context.type(), kind::sessionless);
    EXPECT_EQ(keys_of(context.partitions()), (std::vector<fetch_key>{a0, b0}));
    std::vector<fetch_partition_response> responses{answer(a0, 5), answer(b0, 5)};
    const fetch_completion done = cache.complete(context, responses, 0);
    EXPECT_EQ(done.session_id, 0);
    EXPECT_EQ(done.error, error_code::none);
    EXPECT_EQ(responses.size(), 2U);
    EXPECT_EQ(cache.size(), 0U);
}

TEST(fetch_session_cache, duplicate_partitions_keep_the_first_position_and_the_last_parameters) {
    fetch_session_cache cache(10);
    fetch_context context =
        cache.new_context({0, -1}, false, false, {ask(a0, 1), ask(b0, 2), ask(a0, 3)}, {}, 0);
    ASSERT_EQ(context.partitions().size(), 2U);
    EXPECT_EQ(context.partitions()[0].key, a0);
    EXPECT_EQ(context.partitions()[0].fetch_offset, 3);
    EXPECT_EQ(context.partitions()[1].key, b0);
}

TEST(fetch_session_cache, epoch_zero_creates_a_session_that_expects_epoch_one) {
    fetch_session_cache cache(10);
    const int32_t id = create_session(cache, {a0, a1, b0});
    EXPECT_GT(id, 0);
    EXPECT_TRUE(cache.contains(id));
    EXPECT_EQ(cache.expected_epoch(id), 1);
    EXPECT_EQ(cache.partitions_of(id), (std::vector<fetch_key>{a0, a1, b0}));
    EXPECT_EQ(cache.total_partitions(), 3);
}

TEST(fetch_session_cache, incremental_fetch_answers_only_partitions_with_news) {
    fetch_session_cache cache(10);
    const int32_t id = create_session(cache, {a0, a1, b0});

    // Nothing changed: an empty response.
    EXPECT_TRUE(
        incremental_round(cache, id, 1, [](const fetch_key& k) { return answer(k, 10); }).empty());
    EXPECT_EQ(cache.expected_epoch(id), 2);

    // Records for a1, a new high watermark for b0, a new log start offset for a0.
    const auto listed = incremental_round(cache, id, 2, [](const fetch_key& k) {
        if (k == a1) {
            return answer(k, 10, 0, /*with_records=*/true);
        }
        if (k == b0) {
            return answer(k, 12);
        }
        return answer(k, 10, /*log_start=*/4);
    });
    EXPECT_EQ(listed, (std::vector<fetch_key>{a0, a1, b0})) << "in the session's order";
    // a1 returned records, so it moved to the end of the fetch order.
    EXPECT_EQ(cache.partitions_of(id), (std::vector<fetch_key>{a0, b0, a1}));

    // The new values were remembered: the same answers are news no more.
    EXPECT_TRUE(incremental_round(cache, id, 3, [](const fetch_key& k) {
                    return answer(k, k == b0 ? 12 : 10, k == a0 ? 4 : 0);
                }).empty());
}

TEST(fetch_session_cache, errors_are_always_answered_and_their_end_is_news) {
    fetch_session_cache cache(10);
    const int32_t id = create_session(cache, {a0});
    const int16_t error = static_cast<int16_t>(error_code::unknown_topic_or_partition);
    auto failing = [&](const fetch_key& k) { return answer(k, -1, -1, false, error); };
    EXPECT_EQ(incremental_round(cache, id, 1, failing).size(), 1U);
    EXPECT_EQ(incremental_round(cache, id, 2, failing).size(), 1U);
    // Back to the values of before the error: still listed, because the error reset the cache.
    EXPECT_EQ(
        incremental_round(cache, id, 3, [](const fetch_key& k) { return answer(k, 10); }).size(),
        1U);
    EXPECT_TRUE(
        incremental_round(cache, id, 4, [](const fetch_key& k) { return answer(k, 10); }).empty());
}

TEST(fetch_session_cache, diverging_epoch_and_read_replica_are_always_answered) {
    fetch_session_cache cache(10);
    const int32_t id = create_session(cache, {a0});
    EXPECT_EQ(incremental_round(cache, id, 1,
                                [](const fetch_key& k) {
                                    auto r = answer(k, 10);
                                    r.data.diverging_epoch.epoch = 2;
                                    r.data.diverging_epoch.end_offset = 7;
                                    return r;
                                })
                  .size(),
              1U);
    EXPECT_EQ(incremental_round(cache, id, 2,
                                [](const fetch_key& k) {
                                    auto r = answer(k, 10);
                                    r.data.preferred_read_replica = 3;
                                    return r;
                                })
                  .size(),
              1U);
}

TEST(fetch_session_cache, incremental_requests_add_update_and_forget_partitions) {
    fetch_session_cache cache(10);
    const int32_t id = create_session(cache, {a0, a1});

    // Add b0, move a0 to offset 50.
    fetch_context context =
        cache.new_context({id, 1}, false, false, {ask(b0, 7), ask(a0, 50)}, {}, 0);
    ASSERT_EQ(context.type(), kind::incremental);
    ASSERT_EQ(keys_of(context.partitions()), (std::vector<fetch_key>{a0, a1, b0}));
    EXPECT_EQ(context.partitions()[0].fetch_offset, 50);
    EXPECT_EQ(context.partitions()[2].fetch_offset, 7);
    std::vector<fetch_partition_response> responses{answer(a0, 10), answer(a1, 10), answer(b0, 10)};
    cache.complete(context, responses, 0);
    EXPECT_EQ(keys_of(responses), (std::vector<fetch_key>{b0})) << "only the new partition is news";
    EXPECT_EQ(cache.total_partitions(), 3);

    // Forget a1.
    context = cache.new_context({id, 2}, false, false, {}, {a1}, 0);
    ASSERT_EQ(context.type(), kind::incremental);
    EXPECT_EQ(keys_of(context.partitions()), (std::vector<fetch_key>{a0, b0}));
    // Unchanged partitions keep their remembered parameters.
    EXPECT_EQ(context.partitions()[0].fetch_offset, 50);
    responses = {answer(a0, 10), answer(b0, 10)};
    cache.complete(context, responses, 0);
    EXPECT_EQ(cache.partitions_of(id), (std::vector<fetch_key>{a0, b0}));
}

TEST(fetch_session_cache, forgetting_every_partition_closes_the_session) {
    fetch_session_cache cache(10);
    const int32_t id = create_session(cache, {a0});
    fetch_context context = cache.new_context({id, 1}, false, false, {}, {a0}, 0);
    EXPECT_EQ(context.type(), kind::sessionless);
    EXPECT_TRUE(context.partitions().empty());
    std::vector<fetch_partition_response> responses;
    EXPECT_EQ(cache.complete(context, responses, 0).session_id, 0);
    EXPECT_FALSE(cache.contains(id));
    EXPECT_EQ(cache.total_partitions(), 0);
}

TEST(fetch_session_cache, session_errors) {
    fetch_session_cache cache(10);
    const int32_t id = create_session(cache, {a0});

    fetch_context unknown = cache.new_context({id + 1, 1}, false, false, {ask(a0)}, {}, 0);
    EXPECT_EQ(unknown.type(), kind::session_error);
    EXPECT_EQ(unknown.error(), error_code::fetch_session_id_not_found);
    EXPECT_TRUE(unknown.partitions().empty());
    std::vector<fetch_partition_response> responses{answer(a0, 1)};
    const fetch_completion done = cache.complete(unknown, responses, 0);
    EXPECT_EQ(done.error, error_code::fetch_session_id_not_found);
    EXPECT_EQ(done.session_id, 0);
    EXPECT_TRUE(responses.empty());

    fetch_context stale = cache.new_context({id, 5}, false, false, {}, {}, 0);
    EXPECT_EQ(stale.error(), error_code::invalid_fetch_session_epoch);
    EXPECT_EQ(cache.expected_epoch(id), 1) << "a refused request does not advance the session";

    fetch_context wrong_form =
        cache.new_context({id, 1}, /*uses_topic_ids=*/true, false, {}, {}, 0);
    EXPECT_EQ(wrong_form.error(), error_code::fetch_session_topic_id_error);

    // No session id at all with an incremental epoch.
    EXPECT_EQ(cache.new_context({0, 3}, false, false, {}, {}, 0).error(),
              error_code::fetch_session_id_not_found);
    EXPECT_TRUE(cache.contains(id));
}

TEST(fetch_session_cache, a_duplicate_of_an_incremental_request_is_refused_when_completed) {
    fetch_session_cache cache(10);
    const int32_t id = create_session(cache, {a0});
    fetch_context first = cache.new_context({id, 1}, false, false, {}, {}, 0);
    fetch_context second = cache.new_context({id, 2}, false, false, {}, {}, 0);
    ASSERT_EQ(second.type(), kind::incremental);
    std::vector<fetch_partition_response> responses{answer(a0, 11)};
    const fetch_completion late = cache.complete(first, responses, 0);
    EXPECT_EQ(late.error, error_code::invalid_fetch_session_epoch);
    EXPECT_EQ(late.session_id, id);
    EXPECT_TRUE(responses.empty());
    responses = {answer(a0, 11)};
    EXPECT_EQ(cache.complete(second, responses, 0).error, error_code::none);
    EXPECT_EQ(responses.size(), 1U);
}

TEST(fetch_session_cache, full_requests_close_the_session_they_name) {
    fetch_session_cache cache(10);
    const int32_t first = create_session(cache, {a0});
    EXPECT_EQ(cache.total_partitions(), 1);
    // Epoch -1 with the id: close, answer sessionless.
    fetch_context closing = cache.new_context({first, -1}, false, false, {ask(a0)}, {}, 0);
    EXPECT_EQ(closing.type(), kind::sessionless);
    EXPECT_FALSE(cache.contains(first));
    EXPECT_EQ(cache.total_partitions(), 0);

    // Epoch 0 with an id: the old session goes, a new one comes.
    const int32_t second = create_session(cache, {a0});
    fetch_context renew = cache.new_context({second, 0}, false, false, {ask(b0)}, {}, 0);
    EXPECT_EQ(renew.type(), kind::full);
    EXPECT_FALSE(cache.contains(second));
    std::vector<fetch_partition_response> responses{answer(b0, 3)};
    const int32_t third = cache.complete(renew, responses, 0).session_id;
    EXPECT_GT(third, 0);
    EXPECT_EQ(cache.partitions_of(third), (std::vector<fetch_key>{b0}));
    EXPECT_EQ(cache.size(), 1U);
    EXPECT_EQ(cache.total_partitions(), 1);
}

TEST(fetch_session_cache, topic_id_sessions_are_keyed_by_id) {
    fetch_session_cache cache(10);
    const fetch_key t0 = id_key(1, 0);
    const fetch_key u0 = id_key(2, 0);
    const int32_t id = create_session(cache, {t0, u0}, 0, false, /*topic_ids=*/true);
    fetch_context context = cache.new_context({id, 1}, true, false, {}, {u0}, 0);
    ASSERT_EQ(context.type(), kind::incremental);
    EXPECT_EQ(keys_of(context.partitions()), (std::vector<fetch_key>{t0}));
    EXPECT_EQ(cache.new_context({id, 2}, false, false, {}, {}, 0).error(),
              error_code::fetch_session_topic_id_error);
}

TEST(fetch_session_cache, zero_slots_never_create_sessions) {
    fetch_session_cache cache(0);
    EXPECT_EQ(create_session(cache, {a0}), 0);
    EXPECT_EQ(cache.size(), 0U);
}

TEST(fetch_session_cache, a_full_cache_evicts_a_stale_session) {
    fetch_session_cache cache(2, /*eviction_ms=*/1000);
    const int32_t s1 = create_session(cache, {a0}, 0);
    const int32_t s2 = create_session(cache, {a0, a1, b0}, 0);
    // Both young and recently used: a newcomer finds no room.
    EXPECT_EQ(create_session(cache, {a0, a1, b0, name_key("c", 0)}, 10), 0);
    // s2 is used at t=900; s1 was last used at t=0 and is stale at t=1001.
    incremental_round(
        cache, s2, 1, [](const fetch_key& k) { return answer(k, 10); }, 900);
    const int32_t s3 = create_session(cache, {b0}, 1001);
    EXPECT_GT(s3, 0);
    EXPECT_FALSE(cache.contains(s1));
    EXPECT_TRUE(cache.contains(s2));
    EXPECT_EQ(cache.size(), 2U);
    EXPECT_EQ(cache.total_partitions(), 4);
}

TEST(fetch_session_cache, a_bigger_session_evicts_a_smaller_old_one) {
    fetch_session_cache cache(2, /*eviction_ms=*/1000);
    const int32_t small = create_session(cache, {a0}, 0);
    const int32_t big = create_session(cache, {a0, a1, b0}, 0);
    // Used at t=1500: old (created more than 1000 ms ago) but not stale.
    incremental_round(
        cache, small, 1, [](const fetch_key& k) { return answer(k, 10); }, 1500);
    incremental_round(
        cache, big, 1, [](const fetch_key& k) { return answer(k, 10); }, 1500);

    // One partition is worth no more than the smallest session (1 partition): no eviction.
    EXPECT_EQ(create_session(cache, {b0}, 1600), 0);
    // Two partitions beat one: the small session goes.
    const int32_t two = create_session(cache, {a0, b0}, 1600);
    EXPECT_GT(two, 0);
    EXPECT_FALSE(cache.contains(small));
    EXPECT_TRUE(cache.contains(big));
    // The new session is young, and the remaining old one is bigger: no room.
    EXPECT_EQ(create_session(cache, {a0, a1}, 1700), 0);
}

TEST(fetch_session_cache, a_follower_session_evicts_a_consumer_session_at_once) {
    fetch_session_cache cache(1, /*eviction_ms=*/1000);
    const int32_t consumer = create_session(cache, {a0, a1, b0}, 0);
    // Another consumer cannot evict a young session.
    EXPECT_EQ(create_session(cache, {a0, a1, b0, name_key("c", 0)}, 10), 0);
    const int32_t follower = create_session(cache, {a0}, 10, /*follower=*/true);
    EXPECT_GT(follower, 0);
    EXPECT_FALSE(cache.contains(consumer));
    // A young follower session is safe even from other followers.
    EXPECT_EQ(create_session(cache, {a0, a1}, 20, true), 0);
}

}  // namespace
}  // namespace broker::server
