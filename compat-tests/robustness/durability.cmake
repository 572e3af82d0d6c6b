# compat-tests/robustness/: durability scenarios against the real broker binary (crash consistency
# under SIGKILL, disk full), plus the log module's disk-full unit tests, which live in log/tests/.
# Included (OPTIONAL) from compat-tests/CMakeLists.txt, where COMPAT_DIR and compat_fixture are set.

# Unit tests of the log's rollback of writes the disk refused (label unit, no broker process).
add_executable(log_disk_full_test
    ${PROJECT_SOURCE_DIR}/log/tests/disk_full_test.cpp
    ${PROJECT_SOURCE_DIR}/log/tests/test_util.cpp)
broker_target_options(log_disk_full_test)
target_link_libraries(log_disk_full_test PRIVATE broker_log GTest::gtest_main)
gtest_discover_tests(log_disk_full_test PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)

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
