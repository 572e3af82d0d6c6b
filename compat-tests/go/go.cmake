# franz-go (kgo + kadm, Go): compat-tests/go compiled by scripts/deps.sh --test (scripts/go-tests.sh)
# into .deps/go/bin; run against a fresh broker, BOOTSTRAP in the environment.
set(COMPAT_FRANZ_GO_BIN ${PROJECT_SOURCE_DIR}/.deps/go/bin/franz_compat.test)
compat_test(compat_franz_go ${COMPAT_RUN} ${COMPAT_FRANZ_GO_BIN} -test.v -test.timeout=300s)
set_tests_properties(compat_franz_go PROPERTIES LABELS "compat;go" REQUIRED_FILES ${COMPAT_FRANZ_GO_BIN})
