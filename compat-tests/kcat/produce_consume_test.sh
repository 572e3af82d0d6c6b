#!/usr/bin/env bash
# kcat: produce with keys and headers, consume to the end, offsets by timestamp, relative offsets.
set -euo pipefail
: "${BOOTSTRAP:?run through lib/broker_process.py}"
k() { timeout 60 kcat -b "$BOOTSTRAP" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Produce 5 keyed messages with a header each (auto-creates the topic).
printf 'k1:v1\nk2:v2\nk3:v3\nk4:v4\nk5:v5\n' | k -P -t kc -K: -H source=kcat -H n=1
k -L -t kc -J | /usr/bin/python3 -c 'import json,sys; md=json.load(sys.stdin); t=[t for t in md["topics"] if t["topic"]=="kc"]; assert t and len(t[0]["partitions"])==1, md'

out=$(k -C -t kc -e -f '%k=%s@%o;%h\n')
echo "$out"
expected=$'k1=v1@0;source=kcat,n=1\nk2=v2@1;source=kcat,n=1\nk3=v3@2;source=kcat,n=1\nk4=v4@3;source=kcat,n=1\nk5=v5@4;source=kcat,n=1'
[ "$out" = "$expected" ] || fail "consumed messages differ"

# The last two messages, by a negative (relative to the end) offset.
tail2=$(k -C -t kc -o -2 -e -f '%s\n')
[ "$tail2" = $'v4\nv5' ] || fail "relative offset gave: $tail2"

# Offsets by timestamp (-Q topic:partition:time-ms): kcat stamps messages with the current time.
q=$(k -Q -t kc:0:0)
echo "$q"
echo "$q" | grep -q 'kc \[0\] offset 0' || fail "-Q at time 0 should give offset 0"
q=$(k -Q -t kc:0:9999999999999)
echo "$q"
echo "$q" | grep -q 'kc \[0\] offset -1' || fail "-Q after the last message should give -1 (end)"

# Beginning/end watermarks via -Q with the logical offsets.
q=$(k -Q -t kc:0:-1)
echo "$q" | grep -q 'kc \[0\] offset 5' || fail "latest offset should be 5: $q"
q=$(k -Q -t kc:0:-2)
echo "$q" | grep -q 'kc \[0\] offset 0' || fail "earliest offset should be 0: $q"
echo ok
