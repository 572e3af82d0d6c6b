# The newest Python clients from PyPI (compat-tests/python/requirements-newest.txt), run with the
# venv that scripts/deps.sh --test fills at .deps/venv (included from compat-tests/CMakeLists.txt;
# labels compat and python).
set(COMPAT_VENV_PYTHON ${PROJECT_SOURCE_DIR}/.deps/venv/bin/python)

# The confluent-kafka suites that also run on Debian's 1.7.0, here on 2.16.1 (librdkafka 2.16.0).
compat_test(compat_confluent_kafka_newest ${COMPAT_RUN} ${COMPAT_VENV_PYTHON}
    ${COMPAT_DIR}/python/confluent_kafka_test.py)
compat_test(compat_confluent_kafka_group_newest ${COMPAT_VENV_PYTHON} ${COMPAT_DIR}/python/group_test.py)
# What only the newest confluent-kafka offers: its admin calls, and group.protocol=consumer.
compat_test(compat_confluent_kafka_newest_admin ${COMPAT_RUN} ${COMPAT_VENV_PYTHON}
    ${COMPAT_DIR}/python/confluent_kafka_newest_test.py)
# aiokafka: producer (acks, codecs, idempotence), a two-member group, and its admin client.
compat_test(compat_aiokafka ${COMPAT_RUN} ${COMPAT_VENV_PYTHON} ${COMPAT_DIR}/python/aiokafka_test.py)

set_tests_properties(compat_confluent_kafka_newest compat_confluent_kafka_group_newest
    compat_confluent_kafka_newest_admin compat_aiokafka PROPERTIES LABELS "compat;python" TIMEOUT 300)
