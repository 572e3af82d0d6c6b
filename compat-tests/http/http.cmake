# The admin/metrics HTTP listener against the real broker (kafka-python); the test starts its own
# broker with http.listeners on a free loopback port (lib/broker_process.py, http_port=0).
compat_test(compat_http_observability /usr/bin/python3 ${COMPAT_DIR}/http/http_observability_test.py)
