// The `broker` executable: parse the command line and configuration, start the broker, print one
// "listening" line on stdout, run until SIGINT or SIGTERM, then shut down cleanly and exit 0.
// Exit status 1 means the broker could not start (bad configuration, unusable log directory,
// address in use); the reason is on stderr.
#include "common/asio.h"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "server/broker_server.h"
#include "server/config.h"
#include "server/logging.h"

#ifndef BROKER_VERSION
#define BROKER_VERSION "unknown"
#endif

int main(int argc, char** argv) {
    using namespace broker;
    using namespace broker::server;

    // Install the signal handlers before any thread exists, so an early SIGTERM is never lost
    // or handled by the default action while we start up.
    net::io_context signal_context(1);
    net::signal_set signals(signal_context, SIGINT, SIGTERM);
    std::signal(SIGPIPE, SIG_IGN);

    std::vector<std::string_view> args(argv + 1, argv + argc);
    const std::string_view program = argc > 0 ? std::string_view(argv[0]) : "broker";
    config_result loaded;
    try {
        const command_line command = parse_command_line(args);
        if (command.show_help) {
            std::cout << usage_text(program);
            return 0;
        }
        if (command.show_version) {
            std::cout << "broker " << BROKER_VERSION << "\n";
            return 0;
        }
        loaded = load_broker_config(command);
    } catch (const config_error& e) {
        std::cerr << "broker: " << e.what() << "\n"
                  << "Run '" << program << " --help' for usage.\n";
        return 1;
    }
    set_log_threshold(loaded.config.logger_level);
    for (const std::string& warning : loaded.warnings) {
        BROKER_LOG_WARN(warning);
    }

    const int32_t broker_id = loaded.config.broker_id;
    broker_server server(std::move(loaded.config));
    try {
        server.start();
    } catch (const std::exception& e) {
        std::cerr << "broker: cannot start: " << e.what() << "\n";
        return 1;
    }

    std::string addresses;
    for (const auto& endpoint : server.bound_endpoints()) {
        if (!addresses.empty()) {
            addresses += ", ";
        }
        const auto address = endpoint.address();
        addresses += address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
        addresses += ":" + std::to_string(endpoint.port());
    }
    std::cout << "broker " << broker_id << " listening on " << addresses << " ("
              << server.shards().size() << " shards)" << std::endl;

    signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
        if (!ec) {
            BROKER_LOG_INFO("received signal " << signal_number << ", shutting down");
        }
    });
    signal_context.run();

    server.stop();
    BROKER_LOG_INFO("broker " << broker_id << " stopped");
    return 0;
}
