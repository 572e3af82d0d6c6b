// kafkajs (2.2.4) as the cluster tests' Node client: one command per run, its answer as JSON on
// stdout (the Python test checks it). NODE_PATH points at .deps/node/node_modules.
//   node kafkajs_client.js describe BOOTSTRAP
//       {"brokers":[ids],"controller":id,"clusterId":...} from admin.describeCluster()
//   node kafkajs_client.js produce BOOTSTRAP TOPIC PARTITIONS COUNT PREFIX
//       COUNT messages to each partition p (values PREFIX-p-i, acks -1); {"acked":{p:[offsets]}}
//   node kafkajs_client.js consume BOOTSTRAP TOPIC GROUP EXPECTED TIMEOUT_MS
//       a group member from the beginning until EXPECTED messages arrived: {"values":{p:[values]}}
const { Kafka, logLevel } = require('kafkajs')

function client(bootstrap) {
  return new Kafka({ clientId: 'cluster-kafkajs', brokers: bootstrap.split(','), logLevel: logLevel.WARN,
                     connectionTimeout: 5000, requestTimeout: 15000, retry: { retries: 8 } })
}

async function describe(bootstrap) {
  const admin = client(bootstrap).admin()
  await admin.connect()
  try {
    const cluster = await admin.describeCluster()
    return { brokers: cluster.brokers.map((b) => b.nodeId).sort((a, b) => a - b),
             controller: cluster.controller, clusterId: cluster.clusterId }
  } finally {
    await admin.disconnect()
  }
}

async function produce(bootstrap, topic, partitions, count, prefix) {
  const producer = client(bootstrap).producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const acked = {}
  try {
    for (let p = 0; p < partitions; p++) {
      const messages = []
      for (let i = 0; i < count; i++) messages.push({ partition: p, value: `${prefix}-${p}-${i}` })
      const res = await producer.send({ topic, acks: -1, messages })
      for (const r of res) {
        if (r.errorCode !== 0) throw new Error('produce error ' + JSON.stringify(r))
        // One batch per partition: its base offset, the records follow it.
        acked[r.partition] = Array.from({ length: count }, (_, i) => Number(r.baseOffset) + i)
      }
    }
  } finally {
    await producer.disconnect()
  }
  return { acked }
}

async function consume(bootstrap, topic, group, expected, timeoutMs) {
  const consumer = client(bootstrap).consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 500 })
  await consumer.connect()
  const values = {}
  let seen = 0
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out with ${seen}/${expected} messages`)), timeoutMs)
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          (values[partition] = values[partition] || []).push(message.value.toString())
          seen++
          if (seen >= expected) { clearTimeout(timer); resolve() }
        }
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return { values }
}

async function main() {
  const [cmd, bootstrap, ...rest] = process.argv.slice(2)
  let out
  if (cmd === 'describe') out = await describe(bootstrap)
  else if (cmd === 'produce') out = await produce(bootstrap, rest[0], Number(rest[1]), Number(rest[2]), rest[3])
  else if (cmd === 'consume') out = await consume(bootstrap, rest[0], rest[1], Number(rest[2]), Number(rest[3]))
  else throw new Error('unknown command ' + cmd)
  console.log(JSON.stringify(out))
}

main().catch((e) => { console.error(e); process.exit(1) })
