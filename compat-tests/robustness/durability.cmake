# compat-tests/robustness/: durability scenarios against the real broker binary (crash consistency
# under SIGKILL, disk full). The log's own disk-full unit tests are part of log_test.
# Included (OPTIONAL) from compat-tests/CMakeLists.txt, where COMPAT_DIR and compat_fixture are set.

if(NOT RDKAFKA_FOUND OR NOT TARGET compat_fixture)
    message(STATUS "compat-tests/robustness: librdkafka not found; durability scenarios skipped")
    return()
endif()

foreach(name crash_test disk_full_test)
    add_executable(${name} ${COMPAT_DIR}/robustness/${name}.cpp)
    broker_target_options(${name})
    target_link_libraries(${name} PRIVATE compat_fixture PkgConfig::RDKAFKA GTest::gtest_main)
    add_dependencies(${name} broker)
    if(name STREQUAL "disk_full_test")
        # Raw Produce v9 requests, to read the partition's error_message.
        target_link_libraries(${name} PRIVATE broker_protocol broker_records)
    endif()
    gtest_discover_tests(${name} TEST_PREFIX "robustness." PROPERTIES LABELS compat TIMEOUT 600
        ENVIRONMENT "BROKER_BIN=$<TARGET_FILE:broker>" DISCOVERY_TIMEOUT 60)
endforeach()
