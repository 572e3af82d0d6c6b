#include "log/errors.h"

#include <cerrno>

namespace broker::log {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "log"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::offset_out_of_range: return "offset out of range";
            case errc::message_too_large: return "batch larger than max.message.bytes";
            case errc::record_batch_too_large: return "batch larger than segment.bytes";
            case errc::corrupt_batch: return "malformed record batch";
            case errc::invalid_offset: return "batch offsets are not above the log end offset";
            case errc::log_closed: return "log is closed";
            case errc::corrupt_file: return "malformed log file";
            case errc::invalid_config: return "invalid topic config value";
            case errc::unknown_config: return "unknown topic config";
            case errc::log_exists: return "partition directory exists in more than one log dir";
            case errc::stale_clean: return "log changed while it was being cleaned";
            case errc::cleaning_in_progress: return "log is already being cleaned";
        }
        return "unknown log error";
    }
};

}  // namespace

const std::error_category& log_category() noexcept {
    static const category instance;
    return instance;
}

std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), log_category()};
}

std::error_code errno_code() noexcept {
    return {errno, std::system_category()};
}

}  // namespace broker::log
