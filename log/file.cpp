#include "log/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace broker::log {

result<std::shared_ptr<file_handle>> file_handle::open(const std::filesystem::path& path,
                                                       int flags) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno_code();
    }
    return std::make_shared<file_handle>(fd);
}

file_handle::~file_handle() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

result<uint64_t> file_handle::size() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        return errno_code();
    }
    return static_cast<uint64_t>(st.st_size);
}

result<std::size_t> read_some(int fd, std::span<uint8_t> out, uint64_t position) {
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n =
            ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(position + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno_code();
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

std::error_code read_exact(int fd, std::span<uint8_t> out, uint64_t position) {
    auto n = read_some(fd, out, position);
    if (!n) {
        return n.error();
    }
    if (n.value() != out.size()) {
        return make_error_code(errc::corrupt_file);
    }
    return {};
}

std::error_code write_all(int fd, std::span<const uint8_t> data, uint64_t position) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done,
                             static_cast<off_t>(position + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno_code();
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

std::error_code sync_file(int fd) {
    while (::fsync(fd) != 0) {
        if (errno != EINTR) {
            return errno_code();
        }
    }
    return {};
}

std::error_code sync_directory(const std::filesystem::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errno_code();
    }
    std::error_code ec = sync_file(fd);
    ::close(fd);
    return ec;
}

std::error_code replace_file(const std::filesystem::path& path, std::string_view content,
                             bool durable) {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno_code();
    }
    std::error_code ec = write_all(
        fd,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()),
        0);
    if (!ec && durable) {
        ec = sync_file(fd);
    }
    ::close(fd);
    if (ec) {
        ::unlink(tmp.c_str());
        return ec;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        ec = errno_code();
        ::unlink(tmp.c_str());
        return ec;
    }
    if (durable) {
        return sync_directory(path.parent_path().empty() ? std::filesystem::path(".")
                                                         : path.parent_path());
    }
    return {};
}

result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes) {
    auto file = file_handle::open(path, O_RDONLY);
    if (!file) {
        return file.error();
    }
    auto size = file.value()->size();
    if (!size) {
        return size.error();
    }
    if (size.value() > max_bytes) {
        return make_error_code(errc::corrupt_file);
    }
    std::string text(size.value(), '\0');
    auto n = read_some(file.value()->fd(),
                       std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()), 0);
    if (!n) {
        return n.error();
    }
    text.resize(n.value());
    return text;
}

}  // namespace broker::log

namespace broker::log {

result<std::vector<std::filesystem::directory_entry>> list_directory(
    const std::filesystem::path& dir) {
    std::vector<std::filesystem::directory_entry> out;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    const std::filesystem::directory_iterator end;
    while (!ec && it != end) {
        out.push_back(*it);
        it.increment(ec);
    }
    if (ec) {
        return ec;
    }
    return out;
}

}  // namespace broker::log
