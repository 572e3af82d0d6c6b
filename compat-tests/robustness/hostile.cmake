# compat-tests/robustness/hostile.cmake: hostile and broken input, and connection limits, against
# the real broker process with a well-behaved librdkafka client alongside (docs/reliability.md).
# Included from compat-tests/CMakeLists.txt.
if(RDKAFKA_FOUND AND TARGET compat_fixture)
    add_executable(robustness_hostile_test
        ${COMPAT_DIR}/robustness/hostile_test.cpp
        ${COMPAT_DIR}/robustness/hostile_limits_test.cpp
        ${COMPAT_DIR}/robustness/hostile_traffic.cpp
        ${COMPAT_DIR}/robustness/raw_socket.cpp)
    broker_target_options(robustness_hostile_test)
    target_link_libraries(robustness_hostile_test PRIVATE compat_fixture PkgConfig::RDKAFKA GTest::gtest_main)
    add_dependencies(robustness_hostile_test broker)
    gtest_discover_tests(robustness_hostile_test TEST_PREFIX "robustness." PROPERTIES LABELS compat
        TIMEOUT 600 ENVIRONMENT "BROKER_BIN=$<TARGET_FILE:broker>" DISCOVERY_TIMEOUT 60)
endif()
