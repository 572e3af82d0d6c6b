# The cluster's scenarios (labels compat and cluster): each program starts its own ZooKeeper
# (Debian's zookeeper package; without it the test is skipped, exit 77) and three brokers on free
# loopback ports under a fresh chroot (lib/cluster.py), and stops every process by its PID.
# Included from compat-tests/CMakeLists.txt. CLUSTER_TARGET=kafka in the environment runs the same
# programs on Apache Kafka 3.9.2's jars instead of this broker, to check the tests themselves.
# group_resume_test runs on the venv's confluent-kafka (2.x, describe_consumer_groups); the others
# on Debian's /usr/bin/python3, finding kazoo in the venv (scripts/deps.sh --test fills both).
# Each also gets a reference twin (label reference, skipped with REFERENCE_PASS=0): the same
# program on three Apache Kafka 3.9.2 brokers (CLUSTER_TARGET=kafka), so what the test asserts is
# what Kafka does; one twin at a time (three JVMs each).
function(cluster_test name python timeout)
    set(env "NODE_PATH=${COMPAT_NODE_PATH};PYTHONPATH=${COMPAT_DIR}/lib;BROKER_BIN=$<TARGET_FILE:broker>;PYTHONUNBUFFERED=1")
    add_test(NAME compat_cluster_${name} COMMAND ${python} ${COMPAT_DIR}/cluster/${name}_test.py)
    set_tests_properties(compat_cluster_${name} PROPERTIES LABELS "compat;cluster" TIMEOUT ${timeout}
        SKIP_RETURN_CODE 77 ENVIRONMENT "${env}")
    add_test(NAME reference.compat_cluster_${name}
        COMMAND ${python} ${COMPAT_DIR}/cluster/${name}_test.py)
    set_tests_properties(reference.compat_cluster_${name} PROPERTIES LABELS reference
        TIMEOUT ${timeout} SKIP_RETURN_CODE 77 RESOURCE_LOCK kafka_cluster
        ENVIRONMENT "${env};CLUSTER_TARGET=kafka")
endfunction()

cluster_test(three_brokers /usr/bin/python3 300)
cluster_test(controller_failover /usr/bin/python3 300)
cluster_test(broker_failure /usr/bin/python3 300)
cluster_test(session_expiry /usr/bin/python3 300)
cluster_test(group_resume ${PROJECT_SOURCE_DIR}/.deps/venv/bin/python 300)
cluster_test(znode_layout /usr/bin/python3 300)

