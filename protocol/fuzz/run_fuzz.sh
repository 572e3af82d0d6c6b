#!/bin/sh
# Runs the request fuzzer for a bounded time from a fresh seed corpus.
# Usage: run_fuzz.sh <seed program> <fuzzer> <work dir>
set -eu
seeds_program=$1
fuzzer=$2
work=$3
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
"$seeds_program" "$work/corpus"
# -malloc_limit_mb: any single allocation above 64 MiB is a failure (decoding must never size an
# allocation from an unchecked length); -rss_limit_mb bounds the whole process.
exec "$fuzzer" -max_total_time="${PROTOCOL_FUZZ_SECONDS:-30}" -rss_limit_mb=512 -malloc_limit_mb=64 -timeout=10 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus"
