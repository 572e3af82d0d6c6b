# Consumer-group compat suites (included from compat-tests/CMakeLists.txt, label "compat").
# librdkafka_group_test, the confluent-kafka, kafka-python and kafkajs group scenarios are
# registered there; this file adds the kcat balanced consumer.

# kcat -G on a topic of four partitions.
compat_test(compat_kcat_group ${COMPAT_RUN} bash ${COMPAT_DIR}/kcat/group_test.sh)
