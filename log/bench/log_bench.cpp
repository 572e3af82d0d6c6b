// Append and read throughput of partition_log against raw sequential I/O on the same disk.
//
// For each workload (batches of one 1 KiB record; batches of 100 records of 100 B) it measures, in
// the same run and on the same file system, writing the two in alternating slices so both see the
// same background load:
//   raw write  : write(2) of the same batch bytes, same write sizes, same total, to a plain file
//   log append : partition_log::append of those batches (offset assignment, index upkeep, one
//                write per batch)
//   raw read   : pread(2) of the raw file in 1 MiB reads
//   log read   : partition_log::read by offset with max_bytes = 1 MiB, then pread of the regions
// and prints the median MB/s of N runs and the log/raw ratio. Nothing is fsynced (the log's
// default durability; no segment rolls within the default 1 GiB segment size).
//
// Usage: log_bench [directory (default: system temp dir)] [MiB per run (default 128)] [runs
// (default 5)]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "log/partition_log.h"
#include "protocol/records.h"

namespace {

using namespace broker;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::vector<uint8_t> make_batch(int records, std::size_t value_bytes) {
    std::vector<protocol::record_data> data;
    for (int i = 0; i < records; ++i) {
        protocol::record_data r;
        r.value = std::vector<uint8_t>(value_bytes, static_cast<uint8_t>('a' + i % 26));
        r.timestamp = 1'700'000'000'000 + i;
        data.push_back(std::move(r));
    }
    return protocol::build_batch(data, protocol::batch_build_options{});
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "log_bench: %s\n", what.c_str());
    std::exit(1);
}

struct rates {
    double raw_write_mbs;
    double log_append_mbs;
    double raw_read_mbs;
    double log_read_mbs;
};

/// One run: the raw file and the log are written in alternating slices (raw first in even slices,
/// log first in odd ones) so that both see the same background load and page-cache state, then
/// each is read back in full.
rates run_once(const std::filesystem::path& work, std::vector<uint8_t> batch, std::size_t count) {
    constexpr std::size_t slices = 16;
    const std::filesystem::path raw_path = work / "raw.bin";
    const std::filesystem::path log_dir = work / "bench-0";
    int fd = ::open(raw_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        die("open " + raw_path.string());
    }
    log::partition_log_options o;
    o.dir = log_dir;
    o.partition = {"bench", 0};
    auto opened = log::partition_log::open(o);
    if (!opened) {
        die("open log: " + opened.error().message());
    }
    auto& plog = *opened.value();
    const std::vector<uint8_t> raw_batch = batch;

    double raw_s = 0;
    double log_s = 0;
    for (std::size_t slice = 0; slice < slices; ++slice) {
        const std::size_t n = count / slices + (slice < count % slices ? 1 : 0);
        auto raw_part = [&] {
            auto start = clock_type::now();
            for (std::size_t i = 0; i < n; ++i) {
                if (::write(fd, raw_batch.data(), raw_batch.size()) !=
                    static_cast<ssize_t>(raw_batch.size())) {
                    die("write");
                }
            }
            raw_s += seconds_since(start);
        };
        auto log_part = [&] {
            auto start = clock_type::now();
            for (std::size_t i = 0; i < n; ++i) {
                auto r = plog.append(batch);
                if (!r) {
                    die("append: " + r.error().message());
                }
            }
            log_s += seconds_since(start);
        };
        if (slice % 2 == 0) {
            raw_part();
            log_part();
        } else {
            log_part();
            raw_part();
        }
    }
    const double bytes = static_cast<double>(batch.size() * count);
    plog.set_high_watermark(plog.log_end_offset());

    // Reads: raw pread in 1 MiB pieces; the log by offset with max_bytes = 1 MiB, then pread of
    // the returned regions (what a fetch costs short of the socket).
    std::vector<uint8_t> buffer(1 << 20);
    auto start = clock_type::now();
    uint64_t position = 0;
    while (true) {
        ssize_t n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(position));
        if (n <= 0) {
            break;
        }
        position += static_cast<uint64_t>(n);
    }
    const double raw_read_s = seconds_since(start);

    start = clock_type::now();
    log::offset at(0);
    uint64_t read_bytes = 0;
    while (at < plog.log_end_offset()) {
        auto r = plog.read(at, 1 << 20, plog.high_watermark());
        if (!r || r.value().empty()) {
            die("read");
        }
        for (const auto& region : r.value().regions) {
            buffer.resize(std::max<std::size_t>(buffer.size(), region.length));
            if (::pread(region.fd(), buffer.data(), region.length,
                        static_cast<off_t>(region.position)) !=
                static_cast<ssize_t>(region.length)) {
                die("pread");
            }
            read_bytes += region.length;
        }
        at = r.value().next_offset;
    }
    const double log_read_s = seconds_since(start);
    if (read_bytes != static_cast<uint64_t>(bytes) || position != static_cast<uint64_t>(bytes)) {
        die("read back " + std::to_string(read_bytes) + " / " + std::to_string(position) + " of " +
            std::to_string(static_cast<uint64_t>(bytes)) + " bytes");
    }
    if (auto ec = plog.close(false)) {
        die("close: " + ec.message());
    }
    opened.value().reset();
    ::close(fd);
    std::filesystem::remove(raw_path);
    std::filesystem::remove_all(log_dir);
    return {bytes / raw_s / 1e6, bytes / log_s / 1e6, bytes / raw_read_s / 1e6,
            bytes / log_read_s / 1e6};
}

}  // namespace

int main(int argc, char** argv) {
    std::filesystem::path base =
        argc > 1 ? std::filesystem::path(argv[1]) : std::filesystem::temp_directory_path();
    const std::size_t mib = argc > 2 ? static_cast<std::size_t>(std::atoll(argv[2])) : 128;
    const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
    if (mib == 0 || runs <= 0) {
        die("usage: log_bench [dir] [MiB per run] [runs]");
    }
    const std::filesystem::path work = base / ("log_bench_" + std::to_string(::getpid()));
    std::filesystem::create_directories(work);

    struct workload {
        const char* name;
        int records;
        std::size_t value_bytes;
    };
    const workload workloads[] = {{"1 x 1 KiB records/batch", 1, 1024},
                                  {"100 x 100 B records/batch", 100, 100}};
    std::printf("log_bench: %zu MiB per run, median of %d runs, in %s\n", mib, runs, work.c_str());
    std::printf("%-28s %10s %10s %7s | %10s %10s %7s\n", "workload", "raw write", "log append",
                "ratio", "raw read", "log read", "ratio");
    for (const auto& w : workloads) {
        const auto batch = make_batch(w.records, w.value_bytes);
        const std::size_t count = mib * 1024 * 1024 / batch.size();
        std::vector<double> raw_w, log_w, raw_r, log_r;
        for (int run = 0; run < runs; ++run) {
            rates r = run_once(work, batch, count);
            raw_w.push_back(r.raw_write_mbs);
            log_w.push_back(r.log_append_mbs);
            raw_r.push_back(r.raw_read_mbs);
            log_r.push_back(r.log_read_mbs);
        }
        double rw = median(raw_w), lw = median(log_w), rr = median(raw_r), lr = median(log_r);
        std::printf(
            "%-28s %7.0f MB/s %7.0f MB/s %6.1f%% | %7.0f MB/s %7.0f MB/s %6.1f%%   (batch %zu B, "
            "%zu batches)\n",
            w.name, rw, lw, 100.0 * lw / rw, rr, lr, 100.0 * lr / rr, batch.size(), count);
    }
    std::filesystem::remove_all(work);
    return 0;
}
