# Consumer-group compat suites (included from compat-tests/CMakeLists.txt, label "compat").
# librdkafka_group_test, the confluent-kafka, kafka-python and kafkajs group scenarios are
# registered there; this file adds the kcat balanced consumer.

# kcat -G: the topic is created by the first produce, with four partitions.
compat_test(compat_kcat_group
    /usr/bin/python3 ${COMPAT_DIR}/lib/broker_process.py --broker $<TARGET_FILE:broker>
    --override num.partitions=4 -- bash ${COMPAT_DIR}/kcat/group_test.sh)
