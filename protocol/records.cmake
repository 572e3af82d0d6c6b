add_library(broker_records STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/crc32c.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/compression.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/records.cpp)
broker_target_options(broker_records)
target_link_libraries(broker_records PUBLIC broker_base ZLIB::ZLIB PkgConfig::SNAPPY PkgConfig::LZ4 PkgConfig::ZSTD)

if(BROKER_BUILD_TESTS)
    add_executable(protocol_records_test
        ${CMAKE_CURRENT_SOURCE_DIR}/tests/crc32c_test.cpp
        ${CMAKE_CURRENT_SOURCE_DIR}/tests/compression_test.cpp
        ${CMAKE_CURRENT_SOURCE_DIR}/tests/records_test.cpp
        ${CMAKE_CURRENT_SOURCE_DIR}/tests/records_mutation_test.cpp)
    broker_target_options(protocol_records_test)
    target_link_libraries(protocol_records_test PRIVATE broker_records GTest::gtest_main)
    gtest_discover_tests(protocol_records_test PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
endif()
