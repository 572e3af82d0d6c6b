#include "server/metadata/catalog.h"

#include <algorithm>
#include <random>

namespace broker::server {

const catalog::topic_ptr* catalog::find_ptr(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second;
}

const catalog_topic* catalog::find(std::string_view name) const {
    const topic_ptr* p = find_ptr(name);
    return p == nullptr ? nullptr : p->get();
}

const catalog_topic* catalog::find(const protocol::uuid& id) const {
    const auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second.get();
}

void catalog::put(catalog_topic topic) {
    erase(topic.name);
    auto shared = std::make_shared<const catalog_topic>(std::move(topic));
    by_id_[shared->id] = shared;
    by_name_[shared->name] = std::move(shared);
}

bool catalog::erase(std::string_view name) {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) {
        return false;
    }
    const auto id = by_id_.find(it->second->id);
    if (id != by_id_.end() && id->second == it->second) {
        by_id_.erase(id);
    }
    by_name_.erase(it);
    return true;
}

bool operator==(const catalog& a, const catalog& b) {
    if (a.dynamic_default != b.dynamic_default || a.dynamic_broker != b.dynamic_broker ||
        a.by_name_.size() != b.by_name_.size()) {
        return false;
    }
    return std::equal(
        a.by_name_.begin(), a.by_name_.end(), b.by_name_.begin(), [](const auto& x, const auto& y) {
            return x.first == y.first && (x.second == y.second || *x.second == *y.second);
        });
}

std::optional<std::string> check_topic_name(std::string_view name) {
    if (name.empty()) {
        return std::string("Topic name is illegal, it can't be empty");
    }
    if (name == "." || name == "..") {
        return std::string("Topic name cannot be \".\" or \"..\"");
    }
    if (name.size() > 249) {
        return "Topic name is illegal, it can't be longer than 249 characters, topic name: " +
               std::string(name);
    }
    for (char c : name) {
        const bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!legal) {
            return "Topic name \"" + std::string(name) +
                   "\" is illegal, it contains a character other than ASCII alphanumerics, '.', "
                   "'_' and '-'";
        }
    }
    return std::nullopt;
}

bool has_collision_chars(std::string_view name) {
    return name.find('.') != std::string_view::npos || name.find('_') != std::string_view::npos;
}

std::string unify_collision_chars(std::string_view name) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '.', '_');
    return out;
}

bool is_internal_topic_name(std::string_view name) {
    return name == "__consumer_offsets" || name == "__transaction_state";
}

protocol::uuid random_topic_id() {
    static thread_local std::mt19937_64 engine{std::random_device{}()};
    protocol::uuid one;
    one.bytes[15] = 1;
    while (true) {
        protocol::uuid id;
        for (std::size_t i = 0; i < id.bytes.size(); i += 8) {
            const uint64_t v = engine();
            for (std::size_t j = 0; j < 8; ++j) {
                id.bytes[i + j] = static_cast<uint8_t>(v >> (j * 8));
            }
        }
        if (!id.is_zero() && id != one && id.to_string().front() != '-') {
            return id;
        }
    }
}

}  // namespace broker::server
