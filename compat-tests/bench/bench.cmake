# compat-tests/bench/: end-to-end benchmark of the real broker binary against Apache Kafka 3.9
# (scripts/reference-kafka.sh) and librdkafka's in-memory mock cluster, measured in the same run. A program, not a test: it is never registered with ctest.
# Run: build/bin/broker_bench [--quick] [--reps N] [--only WORKLOAD] [--no-kafka]   (see docs/performance.md)
if(NOT RDKAFKA_FOUND OR NOT TARGET compat_fixture)
    message(STATUS "compat-tests/bench: librdkafka not found; broker_bench skipped")
    return()
endif()

add_executable(broker_bench ${COMPAT_DIR}/bench/broker_bench.cpp)
broker_target_options(broker_bench)
target_link_libraries(broker_bench PRIVATE compat_fixture PkgConfig::RDKAFKA Threads::Threads)
# The broker binary to start when $BROKER_BIN is not set, so the benchmark runs from any directory.
target_compile_definitions(broker_bench PRIVATE BROKER_BENCH_DEFAULT_BINARY="$<TARGET_FILE:broker>"
    BROKER_BENCH_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(broker_bench broker)
