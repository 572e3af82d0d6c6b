#!/usr/bin/env bash
# kcat -L against a fresh broker: the broker lists itself with the advertised address.
set -euo pipefail
: "${BOOTSTRAP:?run through lib/broker_process.py}"
out=$(timeout 30 kcat -L -b "$BOOTSTRAP" -J)
echo "$out"
port=${BOOTSTRAP##*:}
/usr/bin/python3 - "$out" "$port" <<'PY'
import json, sys
md = json.loads(sys.argv[1])
port = int(sys.argv[2])
brokers = md["brokers"]
assert len(brokers) == 1, brokers
assert brokers[0]["name"] == "127.0.0.1:%d" % port, brokers
assert md["originating_broker"]["id"] == brokers[0]["id"], md
print("kcat -L ok:", brokers[0]["name"])
PY
