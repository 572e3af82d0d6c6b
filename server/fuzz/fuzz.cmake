# server/fuzz/: the whole-request-path fuzzer (server/fuzz/request_path_fuzz.cpp).
#   broker_request_fuzz  library: the harness (in-process broker + the connection's request path)
#                        and the deterministic mutator; also linked into server_test, whose
#                        request_path_regression_test replays corpus/ on every build.
#   request_path_fuzz    the fuzzer program.
# The long, time-bounded run is registered only in sanitizer builds (ctest label "fuzz"); scripts/
# test.sh runs it in build-asan. A plain build registers a short fixed-iteration run (label "unit").
if(NOT BROKER_BUILD_TESTS OR NOT TARGET server_test)
    return()
endif()

set(BROKER_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
add_library(broker_request_fuzz STATIC ${BROKER_FUZZ_DIR}/mutator.cpp ${BROKER_FUZZ_DIR}/request_path.cpp)
broker_target_options(broker_request_fuzz)
target_link_libraries(broker_request_fuzz PUBLIC broker_server)
target_link_libraries(server_test PRIVATE broker_request_fuzz)

add_executable(request_path_fuzz ${BROKER_FUZZ_DIR}/request_path_fuzz.cpp)
broker_target_options(request_path_fuzz)
target_link_libraries(request_path_fuzz PRIVATE broker_request_fuzz broker_protocol_samples)

set(BROKER_FUZZ_SECONDS 90 CACHE STRING "Time bound of the request-path fuzz run in sanitizer builds")
set(BROKER_FUZZ_ARGS
    --golden ${PROJECT_SOURCE_DIR}/protocol/tests/golden/captured_handshake_frames.jsonl
    --corpus ${BROKER_FUZZ_DIR}/corpus
    --crash-dir ${CMAKE_CURRENT_BINARY_DIR}/fuzz_crashes)
if(BROKER_SANITIZE)
    add_test(NAME request_path_fuzz
             COMMAND request_path_fuzz --seed 20240611 --iterations 100000000 --seconds ${BROKER_FUZZ_SECONDS}
                     ${BROKER_FUZZ_ARGS})
    math(EXPR fuzz_timeout "${BROKER_FUZZ_SECONDS} + 300")
    set_tests_properties(request_path_fuzz PROPERTIES LABELS fuzz TIMEOUT ${fuzz_timeout}
        ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:max_allocation_size_mb=512:allocator_may_return_null=0;UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
else()
    add_test(NAME request_path_fuzz_short
             COMMAND request_path_fuzz --seed 20240611 --iterations 3000 ${BROKER_FUZZ_ARGS})
    set_tests_properties(request_path_fuzz_short PROPERTIES LABELS unit TIMEOUT 300)
endif()

# `sanitizer_suite`: everything the sanitizer pass of scripts/test.sh runs (ctest -L
# "unit|compat|fuzz" in build-asan): the broker, this fuzzer, every unit-test program (the
# GoogleTest programs, i.e. targets given to gtest_discover_tests, outside compat-tests/) and every
# program the compat suites define. The directory tree is read at the end of configuration, so test
# programs added later are picked up.
add_custom_target(sanitizer_suite)
add_dependencies(sanitizer_suite broker request_path_fuzz)
function(broker_collect_sanitizer_suite directory)
    get_property(targets DIRECTORY ${directory} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target IN LISTS targets)
        get_target_property(type ${target} TYPE)
        get_target_property(excluded ${target} EXCLUDE_FROM_ALL)
        if(NOT type STREQUAL "EXECUTABLE" OR excluded)
            continue()
        endif()
        get_property(gtest_program TARGET ${target} PROPERTY CTEST_DISCOVERED_TEST_COUNTER SET)
        if(gtest_program OR directory STREQUAL "${PROJECT_SOURCE_DIR}/compat-tests")
            add_dependencies(sanitizer_suite ${target})
        endif()
    endforeach()
    get_property(subdirectories DIRECTORY ${directory} PROPERTY SUBDIRECTORIES)
    foreach(subdirectory IN LISTS subdirectories)
        broker_collect_sanitizer_suite(${subdirectory})
    endforeach()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL broker_collect_sanitizer_suite ${PROJECT_SOURCE_DIR})
