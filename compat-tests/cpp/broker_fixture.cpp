#include "compat-tests/cpp/broker_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace broker::compat {

int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        throw std::runtime_error("socket() failed");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("bind() failed");
    }
    int port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

bool targets_kafka() {
    const char* target = std::getenv("COMPAT_TARGET");
    return target != nullptr && std::string(target) == "kafka";
}

namespace {

// The shared settings of the reference Kafka (scripts/reference-kafka.sh); other overrides cannot
// be honoured there.
const std::map<std::string, std::string>& reference_settings() {
    static const std::map<std::string, std::string> settings{
        {"group.initial.rebalance.delay.ms", "0"},
        {"offsets.topic.replication.factor", "1"},
        {"transaction.state.log.replication.factor", "1"},
        {"transaction.state.log.min.isr", "1"},
    };
    return settings;
}

std::map<std::string, std::string> read_reference_env() {
    const char* env = std::getenv("REFERENCE_ENV");
#ifdef COMPAT_REFERENCE_ENV
    const std::string path = env != nullptr ? env : COMPAT_REFERENCE_ENV;
#else
    const std::string path = env != nullptr ? env : "build/reference-kafka/reference.env";
#endif
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("COMPAT_TARGET=kafka but no reference Kafka env file " + path);
    }
    std::map<std::string, std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq != std::string::npos) {
            out[line.substr(0, eq)] = line.substr(eq + 1);
        }
    }
    if (out.count("BOOTSTRAP") == 0 || out.count("KAFKA_LOG_DIR") == 0) {
        throw std::runtime_error("incomplete reference Kafka env file " + path);
    }
    return out;
}

bool port_accepts(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

// The fixture serves GoogleTest programs and plain benchmark programs alike, so it cannot fail a
// test directly. Instead the program's exit status becomes non-zero, which fails its ctest entry.
void fail_program_at_exit() {
    static std::once_flag registered;
    std::call_once(registered, [] {
        std::atexit([] {
            std::fputs(
                "broker_process: a broker exited uncleanly (see above); failing the program\n",
                stderr);
            std::_Exit(1);
        });
    });
}

}  // namespace

broker_process::broker_process(std::map<std::string, std::string> overrides, std::string log_dir,
                               std::string binary)
    : overrides_(std::move(overrides)), log_dir_(std::move(log_dir)), binary_(std::move(binary)) {
    if (targets_kafka()) {
        reference_ = read_reference_env();
        const std::string& bootstrap = reference_.at("BOOTSTRAP");
        port_ = std::stoi(bootstrap.substr(bootstrap.rfind(':') + 1));
        log_dir_ = reference_.at("KAFKA_LOG_DIR");
        return;
    }
    if (binary_.empty()) {
        const char* env = std::getenv("BROKER_BIN");
        binary_ = env != nullptr ? env : "build/bin/broker";
    }
    if (log_dir_.empty()) {
        std::string templ =
            (std::filesystem::temp_directory_path() / "broker-compat-XXXXXX").string();
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        if (::mkdtemp(buf.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        log_dir_ = buf.data();
        own_dir_ = true;
    }
    port_ = free_loopback_port();
}

broker_process::~broker_process() {
    if (pid_ > 0) {
        // SIGTERM, not SIGKILL: a clean shutdown is where LeakSanitizer reports, and stop() fails
        // the test when the broker does not exit 0.
        stop(SIGTERM, 30000);
    }
    if (own_dir_) {
        std::error_code ec;
        std::filesystem::remove_all(log_dir_, ec);
    }
}

void broker_process::start() {
    if (!reference_.empty()) {
        for (const auto& [k, v] : overrides_) {
            auto it = reference_settings().find(k);
            if (it == reference_settings().end() || it->second != v) {
                throw std::runtime_error("the shared reference Kafka cannot take the override " +
                                         k + "=" + v + " (skip the test when targets_kafka())");
            }
        }
        if (reference_started_) {
            throw std::runtime_error(
                "the shared reference Kafka cannot be restarted (skip the test when "
                "targets_kafka())");
        }
        // Earlier tests' topics and groups go first; the helper waits until they are gone.
        const char* lib = std::getenv("COMPAT_LIB_DIR");
#ifdef COMPAT_LIB_DIR_DEFAULT
        const std::string helper =
            std::string(lib != nullptr ? lib : COMPAT_LIB_DIR_DEFAULT) + "/broker_process.py";
#else
        const std::string helper =
            std::string(lib != nullptr ? lib : "compat-tests/lib") + "/broker_process.py";
#endif
        const std::string cmd = "/usr/bin/python3 '" + helper + "' --reset-reference";
        if (std::system(cmd.c_str()) != 0) {
            throw std::runtime_error("resetting the reference Kafka failed: " + cmd);
        }
        reference_started_ = true;
        reference_running_ = true;
        return;
    }
    std::map<std::string, std::string> settings{
        {"listeners", "PLAINTEXT://127.0.0.1:" + std::to_string(port_)},
        {"log.dirs", log_dir_ + "/data"},
        {"group.initial.rebalance.delay.ms", "0"},
        {"http.listeners", ""},  // no fixed HTTP port: brokers run side by side
    };
    for (const auto& [k, v] : overrides_) {
        settings[k] = v;
    }
    std::vector<std::string> args{binary_};
    for (const auto& [k, v] : settings) {
        args.push_back("--override");
        args.push_back(k + "=" + v);
    }
    std::string out_path = log_dir_ + "/broker.out";
    pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
        int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            ::close(fd);
        }
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            ::dup2(devnull, 0);
            ::close(devnull);
        }
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        ::execv(binary_.c_str(), argv.data());
        ::_exit(127);
    }
    pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("broker exited during startup:\n" + output());
        }
        if (port_accepts(port_)) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop(SIGKILL);
    throw std::runtime_error("broker did not listen in time:\n" + output());
}

int broker_process::stop(int signal, int timeout_ms) {
    if (!reference_.empty()) {
        // The shared instance keeps running; a stop reports what a clean exit reports.
        const bool was_running = reference_running_;
        reference_running_ = false;
        return was_running ? 0 : -1;
    }
    if (pid_ <= 0) {
        return -1;
    }
    ::kill(pid_, signal);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int status = 0;
    while (true) {
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    // A broker asked to shut down must exit 0. Anything else (a sanitizer report, which makes the
    // instrumented broker exit non-zero, a crash, a hang) fails the current test even when the
    // caller ignores the status.
    if ((signal == SIGTERM || signal == SIGINT) &&
        !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        const std::string out = output();
        std::fprintf(
            stderr,
            "broker_process: broker did not exit cleanly after signal %d (wait status %d):\n%s\n",
            signal, status, out.substr(out.size() > 20000 ? out.size() - 20000 : 0).c_str());
        fail_program_at_exit();
    }
    return status;
}

std::string broker_process::output() const {
    if (!reference_.empty()) {
        return "(the reference Kafka's log: " +
               std::filesystem::path(log_dir_).parent_path().string() + "/kafka.out)";
    }
    std::ifstream in(log_dir_ + "/broker.out");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

double broker_process::cpu_seconds() const {
    pid_t pid = pid_;
    if (!reference_.empty() && reference_.count("KAFKA_PID") != 0) {
        pid = static_cast<pid_t>(std::stol(reference_.at("KAFKA_PID")));
    }
    return pid > 0 ? process_cpu_seconds(pid) : 0;
}

double process_cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    auto close_paren = content.rfind(')');
    if (close_paren == std::string::npos) {
        return 0;
    }
    std::istringstream rest(content.substr(close_paren + 2));
    std::vector<std::string> fields;
    std::string f;
    while (rest >> f) {
        fields.push_back(f);
    }
    if (fields.size() < 13) {
        return 0;
    }
    double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

}  // namespace broker::compat
