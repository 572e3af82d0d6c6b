# The schema-generated Kafka codec (see docs/codec.md).
#   kgen                   host tool: schemas -> C++ (protocol/gen/)
#   broker_generate_module another module's data schemas -> C++ (its library compiles them)
#   broker_protocol        wire primitives, headers, error codes, API registry, generated messages
#   protocol_codec_test    unit tests (label "unit", names prefixed "protocol.")
#   protocol_fuzzer        libFuzzer target built with clang++-14 (ctest "protocol_fuzz"), when available

set(BROKER_CODEC_BATCHES 8)   # generated codec .cpp files (parallel compile units)
set(BROKER_SAMPLE_BATCHES 4)  # generated test-sample .cpp files

# ---- generator ----
add_library(kgen_lib STATIC ${CMAKE_CURRENT_SOURCE_DIR}/gen/kgen.cpp)
broker_target_options(kgen_lib)
target_link_libraries(kgen_lib PUBLIC nlohmann_json::nlohmann_json)

add_executable(kgen ${CMAKE_CURRENT_SOURCE_DIR}/gen/kgen_main.cpp)
broker_target_options(kgen)
target_link_libraries(kgen PRIVATE kgen_lib)

# ---- generation ----
file(GLOB BROKER_SCHEMAS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/schemas/*.json)
list(SORT BROKER_SCHEMAS)
set(BROKER_GENERATED_DIR ${CMAKE_BINARY_DIR}/protocol/generated)

# kgen names each header after its message in snake_case; this mirrors kgen's snake_case().
function(broker_generated_header_name schema out_var)
    get_filename_component(stem ${schema} NAME_WE)
    string(REGEX REPLACE "([A-Z]+)([A-Z][a-z])" "\\1_\\2" snake "${stem}")
    string(REGEX REPLACE "([a-z0-9])([A-Z])" "\\1_\\2" snake "${snake}")
    string(TOLOWER "${snake}" snake)
    set(${out_var} ${snake}.h PARENT_SCOPE)
endfunction()

set(BROKER_GENERATED_HEADERS)
foreach(schema IN LISTS BROKER_SCHEMAS)
    broker_generated_header_name(${schema} header)
    list(APPEND BROKER_GENERATED_HEADERS ${BROKER_GENERATED_DIR}/${header})
endforeach()
list(APPEND BROKER_GENERATED_HEADERS
    ${BROKER_GENERATED_DIR}/messages.h ${BROKER_GENERATED_DIR}/dispatch.h ${BROKER_GENERATED_DIR}/samples.h)

set(BROKER_GENERATED_CODEC ${BROKER_GENERATED_DIR}/registry.cpp)
math(EXPR last "${BROKER_CODEC_BATCHES} - 1")
foreach(i RANGE ${last})
    list(APPEND BROKER_GENERATED_CODEC ${BROKER_GENERATED_DIR}/codec_${i}.cpp)
endforeach()
set(BROKER_GENERATED_SAMPLES ${BROKER_GENERATED_DIR}/samples_index.cpp)
math(EXPR last "${BROKER_SAMPLE_BATCHES} - 1")
foreach(i RANGE ${last})
    list(APPEND BROKER_GENERATED_SAMPLES ${BROKER_GENERATED_DIR}/samples_${i}.cpp)
endforeach()

add_custom_command(
    OUTPUT ${BROKER_GENERATED_HEADERS} ${BROKER_GENERATED_CODEC} ${BROKER_GENERATED_SAMPLES}
    COMMAND kgen ${CMAKE_CURRENT_SOURCE_DIR}/schemas ${CMAKE_BINARY_DIR}
            ${BROKER_CODEC_BATCHES} ${BROKER_SAMPLE_BATCHES}
    DEPENDS kgen ${BROKER_SCHEMAS}
    COMMENT "Generating Kafka message codecs from protocol/schemas"
    VERBATIM)
add_custom_target(protocol_generated
    DEPENDS ${BROKER_GENERATED_HEADERS} ${BROKER_GENERATED_CODEC} ${BROKER_GENERATED_SAMPLES})

# A module that keeps its own data schemas (coordinator/: the `__consumer_offsets` records) calls
#   broker_generate_module(<module> <namespace> <schema dir> <out var>)
# to generate one header per schema and a codec.cpp into ${CMAKE_BINARY_DIR}/<module>/generated/,
# in <namespace>, on top of protocol/wire.h; <out var> lists the files for its library. No
# registry or samples: those are for client-protocol messages only.
function(broker_generate_module module namespace schema_dir out_var)
    file(GLOB schemas CONFIGURE_DEPENDS ${schema_dir}/*.json)
    list(SORT schemas)
    set(dir ${CMAKE_BINARY_DIR}/${module}/generated)
    set(outputs ${dir}/codec.cpp)
    foreach(schema IN LISTS schemas)
        broker_generated_header_name(${schema} header)
        list(APPEND outputs ${dir}/${header})
    endforeach()
    add_custom_command(
        OUTPUT ${outputs}
        COMMAND kgen --module ${module} ${namespace} ${schema_dir} ${CMAKE_BINARY_DIR}
        DEPENDS kgen ${schemas}
        COMMENT "Generating ${module} codecs from ${module}/schemas"
        VERBATIM)
    set(${out_var} ${outputs} PARENT_SCOPE)
endfunction()

# ---- codec library ----
set(BROKER_PROTOCOL_SOURCES
    ${CMAKE_CURRENT_SOURCE_DIR}/wire.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/header.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/errors.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/api.cpp)
add_library(broker_protocol STATIC ${BROKER_PROTOCOL_SOURCES} ${BROKER_GENERATED_CODEC} ${BROKER_GENERATED_HEADERS})
broker_target_options(broker_protocol)
add_dependencies(broker_protocol protocol_generated)

if(BROKER_BUILD_TESTS)
    # Sample values for every message (test-only; also feeds the fuzzer's seed corpus).
    add_library(broker_protocol_samples STATIC ${BROKER_GENERATED_SAMPLES})
    broker_target_options(broker_protocol_samples)
    target_link_libraries(broker_protocol_samples PUBLIC broker_protocol)

    add_executable(protocol_codec_test
        ${CMAKE_CURRENT_SOURCE_DIR}/tests/codec_wire_test.cpp
        ${CMAKE_CURRENT_SOURCE_DIR}/tests/codec_messages_test.cpp
        ${CMAKE_CURRENT_SOURCE_DIR}/tests/codec_header_test.cpp
        ${CMAKE_CURRENT_SOURCE_DIR}/tests/codec_gen_test.cpp)
    broker_target_options(protocol_codec_test)
    target_link_libraries(protocol_codec_test PRIVATE broker_protocol_samples kgen_lib GTest::gtest_main)
    gtest_discover_tests(protocol_codec_test
        TEST_PREFIX "protocol."
        PROPERTIES LABELS unit
        DISCOVERY_TIMEOUT 60)

    # Frames captured from stock clients must decode and re-encode byte for byte.
    add_executable(protocol_captured_test ${CMAKE_CURRENT_SOURCE_DIR}/tests/captured_frames_test.cpp)
    broker_target_options(protocol_captured_test)
    target_compile_definitions(protocol_captured_test PRIVATE
        BROKER_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/tests/golden")
    target_link_libraries(protocol_captured_test PRIVATE broker_protocol broker_records
        nlohmann_json::nlohmann_json GTest::gtest_main)
    gtest_discover_tests(protocol_captured_test
        TEST_PREFIX "protocol."
        PROPERTIES LABELS unit
        DISCOVERY_TIMEOUT 60)

    # ---- fuzzing (clang++-14 + libFuzzer; the main build may use another compiler) ----
    add_executable(protocol_fuzz_seeds EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_seeds.cpp)
    broker_target_options(protocol_fuzz_seeds)
    target_link_libraries(protocol_fuzz_seeds PRIVATE broker_protocol_samples)

    find_program(BROKER_CLANGXX_14 clang++-14)
    set(BROKER_FUZZER_RUNTIME "")
    if(BROKER_CLANGXX_14)
        execute_process(COMMAND ${BROKER_CLANGXX_14} -print-file-name=libclang_rt.fuzzer-x86_64.a
                        OUTPUT_VARIABLE BROKER_FUZZER_RUNTIME OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
        if(NOT EXISTS "${BROKER_FUZZER_RUNTIME}")
            file(GLOB BROKER_FUZZER_RUNTIME /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a)
        endif()
    endif()
    if(BROKER_SANITIZE)
        # The fuzzer is built with ASan/UBSan in every tree; the plain tree's test pass runs it, and
        # a sanitizer tree would only compile the codec once more for the same run.
        message(STATUS "protocol_fuzz: left to the plain build (instrumented there already)")
    elseif(NOT BROKER_CLANGXX_14 OR NOT BROKER_FUZZER_RUNTIME)
        message(STATUS "protocol_fuzz skipped: needs clang++-14 and libclang-rt-14-dev (scripts/deps.sh --test)")
    else()
        set(fuzz_dir ${CMAKE_CURRENT_BINARY_DIR}/fuzz)
        set(fuzz_flags -std=c++20 -O1 -g -fno-omit-frame-pointer
            -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
            -I${PROJECT_SOURCE_DIR} -I${PROJECT_BINARY_DIR})
        set(fuzz_sources ${BROKER_PROTOCOL_SOURCES} ${BROKER_GENERATED_CODEC}
            ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/request_fuzz.cpp)
        set(fuzz_objects)
        set(launcher)
        if(CCACHE_PROGRAM)
            set(launcher ${CCACHE_PROGRAM})
        endif()
        foreach(source IN LISTS fuzz_sources)
            get_filename_component(base ${source} NAME_WE)
            set(object ${fuzz_dir}/${base}.o)
            add_custom_command(
                OUTPUT ${object}
                COMMAND ${CMAKE_COMMAND} -E make_directory ${fuzz_dir}
                COMMAND ${launcher} ${BROKER_CLANGXX_14} ${fuzz_flags} -MD -MF ${object}.d -c ${source} -o ${object}
                DEPENDS ${source} protocol_generated
                DEPFILE ${object}.d
                COMMENT "Compiling ${base} for the fuzzer (clang++-14)"
                VERBATIM)
            list(APPEND fuzz_objects ${object})
        endforeach()
        set(fuzzer ${CMAKE_BINARY_DIR}/bin/protocol_fuzzer)
        add_custom_command(
            OUTPUT ${fuzzer}
            COMMAND ${BROKER_CLANGXX_14} -fsanitize=fuzzer,address,undefined ${fuzz_objects} -o ${fuzzer}
            DEPENDS ${fuzz_objects}
            COMMENT "Linking protocol_fuzzer"
            VERBATIM)
        add_custom_target(protocol_fuzzer DEPENDS ${fuzzer})

        # The fuzz test first brings both programs up to date (a fixture), then fuzzes for 30 s
        # starting from every sample request encoded at every version.
        add_test(NAME protocol_fuzz_build
                 COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target protocol_fuzzer protocol_fuzz_seeds)
        set_tests_properties(protocol_fuzz_build PROPERTIES FIXTURES_SETUP protocol_fuzz_binaries LABELS unit
                             TIMEOUT 1200)
        add_test(NAME protocol_fuzz
                 COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run_fuzz.sh
                         $<TARGET_FILE:protocol_fuzz_seeds> ${fuzzer} ${CMAKE_CURRENT_BINARY_DIR}/fuzz_run)
        set_tests_properties(protocol_fuzz PROPERTIES FIXTURES_REQUIRED protocol_fuzz_binaries LABELS unit
                             TIMEOUT 300)
    endif()
endif()
