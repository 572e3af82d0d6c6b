"""kafka-python (Debian's python3-kafka) connects and negotiates API versions with the broker.

kafka-python infers the broker release from the advertised ranges; anything below 0.11 would make it
fall back to the old message formats, so the inferred version must be at least 0.11 (Metadata v4).
"""
import os
import sys

from kafka import KafkaAdminClient, KafkaClient

bootstrap = os.environ["BOOTSTRAP"]

client = KafkaClient(bootstrap_servers=bootstrap, client_id="compat-negotiate", request_timeout_ms=10000)
version = client.check_version(timeout=10)
print("kafka-python inferred broker version:", version)
assert version >= (0, 11), version
client.close()

admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="compat-admin", request_timeout_ms=10000)
cluster = admin.describe_cluster()
print("describe_cluster:", cluster)
brokers = cluster["brokers"]
assert len(brokers) == 1, brokers
assert brokers[0]["host"] == "127.0.0.1" and brokers[0]["port"] == int(bootstrap.split(":")[1]), brokers
assert cluster["controller_id"] == brokers[0]["node_id"], cluster
admin.close()
print("ok")
sys.exit(0)
