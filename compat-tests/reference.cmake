# The reference pass (label "reference"): the compat suites run against Apache Kafka 3.9.2 in
# ZooKeeper mode instead of this broker, to check that what they assert is what Kafka does.
# reference.kafka_start (FIXTURES_SETUP reference_kafka) runs scripts/reference-kafka.sh start
# into build/reference-kafka/, every twin reads its reference.env (COMPAT_TARGET=kafka), and
# reference.kafka_stop stops Kafka and ZooKeeper. One Kafka for the whole pass: a JVM start costs
# seconds, and the twins take turns on it (RESOURCE_LOCK), each first deleting the topics and
# groups the last one left. Tests that cannot run on a shared Kafka exit 77 (skipped), saying
# why; docs/decisions.md lists them. scripts/test.sh skips the pass with REFERENCE_PASS=0.
# Adding a twin of a compat test is one line: reference_twin(<its name>) (compat-tests/CMakeLists.txt).
if(TARGET compat_fixture)
    # Where the librdkafka programs find the reference instance and the reset helper.
    target_compile_definitions(compat_fixture PRIVATE
        COMPAT_REFERENCE_ENV="${REFERENCE_DIR}/reference.env" COMPAT_LIB_DIR_DEFAULT="${COMPAT_DIR}/lib")
endif()
find_program(REFERENCE_JAVA java)
if(NOT REFERENCE_JAVA OR NOT EXISTS /usr/share/zookeeper/bin/zkServer.sh)
    message(STATUS "compat-tests: no java or Debian zookeeper; the reference pass is skipped (scripts/deps.sh --test)")
    return()
endif()

add_test(NAME reference.kafka_start COMMAND bash -c
    "bash '${PROJECT_SOURCE_DIR}/scripts/reference-kafka.sh' stop '${REFERENCE_DIR}' && exec bash '${PROJECT_SOURCE_DIR}/scripts/reference-kafka.sh' start '${REFERENCE_DIR}'")
set_tests_properties(reference.kafka_start PROPERTIES FIXTURES_SETUP reference_kafka
    LABELS reference TIMEOUT 300)
add_test(NAME reference.kafka_stop
    COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/reference-kafka.sh stop ${REFERENCE_DIR})
set_tests_properties(reference.kafka_stop PROPERTIES FIXTURES_CLEANUP reference_kafka
    LABELS reference TIMEOUT 180)

# librdkafka GoogleTest programs: each test case again, as reference.<suite>.<case>.
if(TARGET compat_fixture)
    foreach(name librdkafka_produce_consume_test librdkafka_admin_test librdkafka_group_test)
        gtest_discover_tests(${name} TEST_PREFIX "reference." PROPERTIES LABELS reference
            TIMEOUT 600 ENVIRONMENT COMPAT_TARGET=kafka FIXTURES_REQUIRED reference_kafka
            RESOURCE_LOCK reference_kafka DISCOVERY_TIMEOUT 60)
    endforeach()
endif()

reference_twin(compat_kcat_metadata)
reference_twin(compat_kcat_produce_consume)
reference_twin(compat_kcat_group)
reference_twin(compat_kafka_python_negotiate)
reference_twin(compat_kafka_python)
reference_twin(compat_kafka_python_group)
reference_twin(compat_confluent_kafka)
reference_twin(compat_confluent_kafka_group)
reference_twin(compat_restart)
reference_twin(compat_kafkajs_negotiate)
reference_twin(compat_kafkajs_produce_consume)
reference_twin(compat_kafkajs_group)
reference_twin(compat_platformatic_kafka)
reference_twin(compat_kafka_tools)
# The newest clients: franz-go, confluent-kafka 2.16 and aiokafka from PyPI.
foreach(t compat_franz_go compat_confluent_kafka_newest compat_confluent_kafka_group_newest
        compat_confluent_kafka_newest_admin compat_aiokafka)
    if(TEST ${t})
        reference_twin(${t})
    endif()
endforeach()

# Java client suites (compat_java_client_*, made with compat_test) get their twin automatically,
# wherever in this directory they are registered: the call runs once the directory is processed.
function(reference_twin_java_clients)
    get_directory_property(tests TESTS)
    foreach(t IN LISTS tests)
        if(t MATCHES "^compat_java_client_" AND NOT TEST reference.${t})
            get_property(cmd GLOBAL PROPERTY COMPAT_TEST_COMMAND_${t})
            if(cmd)
                reference_twin(${t})
            endif()
        endif()
    endforeach()
endfunction()
cmake_language(DEFER CALL reference_twin_java_clients)
