add_library(broker_records STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/crc32c.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/compression.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/records.cpp)
broker_target_options(broker_records)
target_link_libraries(broker_records PUBLIC ZLIB::ZLIB PkgConfig::SNAPPY PkgConfig::LZ4 PkgConfig::ZSTD)
