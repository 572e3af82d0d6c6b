#!/usr/bin/env bash
# Installs what is missing (test clients included), builds, and runs every test.
#
# Two passes:
#   1. ./build (Release): every test (labels unit, compat, ...), and the reference pass (label
#      reference): the compat suites again against Apache Kafka 3.9.2 (scripts/reference-kafka.sh)
#      to check their assertions against Kafka itself; REFERENCE_PASS=0 skips it.
#   2. ./build-asan (AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer): the unit
#      tests, the compat suites against an instrumented broker, and the request-path fuzzer for a
#      bounded time (labels unit, compat and fuzz). Any sanitizer report makes the process exit
#      non-zero (a unit-test program, or the broker when a test stops it), which fails the test.
#      SANITIZER_PASS=0 skips this pass; FUZZ_SECONDS sets the fuzzer's time bound (default 90).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/deps.sh --test
bash scripts/build.sh
reference_filter=()
[ "${REFERENCE_PASS:-1}" = 0 ] && reference_filter=(-LE reference)
(cd build && ctest --output-on-failure -j2 --timeout 900 "${reference_filter[@]}")

if [ "${SANITIZER_PASS:-1}" != 0 ]; then
    # Debug (-O0 -g): the fastest instrumented build, with symbolised reports. (With -O1, GCC 12
    # raises a false -Wmismatched-new-delete on Asio's coroutine frames, an error under -Werror.)
    BUILD_DIR=build-asan BUILD_TYPE=Debug BUILD_TARGETS=sanitizer_suite \
        bash scripts/build.sh -DBROKER_SANITIZE=ON "-DBROKER_FUZZ_SECONDS=${FUZZ_SECONDS:-90}"
    # Inherited by the unit-test programs, every broker the compat fixtures start, and the fuzzer.
    # exitcode/abort make a report a non-zero exit; clients (python, node, kcat) are not
    # instrumented.
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0:${ASAN_OPTIONS:-}"
    export LSAN_OPTIONS="exitcode=23:${LSAN_OPTIONS:-}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
    (cd build-asan && ctest --output-on-failure -j2 --timeout 900 -L '^(unit|compat|fuzz)$')
fi
