#pragma once
// Starts the real broker binary as a child process for librdkafka-based compat tests and
// benchmarks.
//
// broker_process owns one child: a free loopback port, a log dir (a fresh temporary one unless
// given), and the broker's combined output in <log dir>/broker.out. start() waits until the port
// accepts connections; stop() sends a signal and waits. Restart tests call start() again on the
// same log dir. Not thread-safe; one owner.
//
// With COMPAT_TARGET=kafka, broker_process stands for the shared reference Apache Kafka that
// scripts/reference-kafka.sh runs (its env file is $REFERENCE_ENV): start() starts nothing but
// deletes the topics and consumer groups earlier tests left there (lib/broker_process.py
// --reset-reference), stop() leaves it running and reports a clean exit, and a second start()
// throws. Tests that restart or kill the broker, need other broker settings or use this broker's
// own features check targets_kafka() first and skip (GTEST_SKIP), saying why.
#include <sys/types.h>
#include <map>
#include <string>

namespace broker::compat {

int free_loopback_port();

/// CPU time (user + system) process `pid` has used so far, from /proc, in seconds; 0 when it is
/// gone.
double process_cpu_seconds(pid_t pid);
/// True when COMPAT_TARGET=kafka: tests run against the shared reference Kafka.
bool targets_kafka();

class broker_process {
public:
    /// `binary` defaults to $BROKER_BIN, then build/bin/broker relative to the working directory.
    explicit broker_process(std::map<std::string, std::string> overrides = {},
                            std::string log_dir = {}, std::string binary = {});
    ~broker_process();
    broker_process(const broker_process&) = delete;
    broker_process& operator=(const broker_process&) = delete;

    /// Starts the broker and waits (bounded) until it listens; throws std::runtime_error on
    /// failure.
    void start();
    /// Sends `signal` and waits up to `timeout_ms`, then SIGKILL. Returns the exit status as
    /// from waitpid (use WIFEXITED etc.), or -1 when not running.
    int stop(int signal = 15, int timeout_ms = 30000);
    bool running() const { return pid_ > 0 || reference_running_; }

    std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
    int port() const { return port_; }
    const std::string& log_dir() const { return log_dir_; }
    std::string output() const;
    /// CPU time (user + system) the broker process has used so far, from /proc, in seconds.
    double cpu_seconds() const;
    pid_t pid() const { return pid_; }

private:
    std::map<std::string, std::string> overrides_;
    std::string log_dir_;
    std::string binary_;
    bool own_dir_ = false;
    int port_ = 0;
    pid_t pid_ = -1;
    // COMPAT_TARGET=kafka: the reference instance's settings (BOOTSTRAP, KAFKA_PID, ...).
    std::map<std::string, std::string> reference_;
    bool reference_started_ = false;
    bool reference_running_ = false;
};

}  // namespace broker::compat
