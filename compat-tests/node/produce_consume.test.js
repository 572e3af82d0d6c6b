// kafkajs: admin createTopics/fetchTopicMetadata/deleteTopics, an idempotent producer sending with
// acks -1 and gzip, and a consumer (in a group) reading everything back.
const { Kafka, logLevel, CompressionTypes } = require('kafkajs')

function assert(cond, msg) { if (!cond) throw new Error(msg) }

async function main() {
  const kafka = new Kafka({ clientId: 'compat-kafkajs', brokers: [process.env.BOOTSTRAP], logLevel: logLevel.WARN,
                            connectionTimeout: 5000, requestTimeout: 15000, retry: { retries: 3 } })
  const admin = kafka.admin()
  await admin.connect()
  assert(await admin.createTopics({ topics: [{ topic: 'js-topic', numPartitions: 3 }, { topic: 'js-doomed' }] }),
         'createTopics should report creation')
  const md = await admin.fetchTopicMetadata({ topics: ['js-topic'] })
  assert(md.topics[0].partitions.length === 3, 'three partitions expected')
  await admin.deleteTopics({ topics: ['js-doomed'] })
  const names = await admin.listTopics()
  assert(!names.includes('js-doomed') && names.includes('js-topic'), 'deleteTopics: ' + names)

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const total = 3000
  for (let b = 0; b < total / 300; b++) {
    const messages = []
    for (let i = b * 300; i < (b + 1) * 300; i++) {
      messages.push({ key: `k${i % 13}`, value: `v${i}`, headers: { n: `${i}` } })
    }
    const res = await producer.send({ topic: 'js-topic', acks: -1, compression: CompressionTypes.GZIP, messages })
    for (const r of res) assert(r.errorCode === 0, 'produce error ' + JSON.stringify(r))
  }
  await producer.disconnect()

  const consumer = kafka.consumer({ groupId: 'js-group', sessionTimeout: 10000, heartbeatInterval: 500 })
  await consumer.connect()
  await consumer.subscribe({ topic: 'js-topic', fromBeginning: true })
  const seen = new Set()
  let headerMismatch = 0
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${seen.size}/${total}`)), 90000)
    consumer.run({
      eachMessage: async ({ message }) => {
        const v = message.value.toString()
        if (message.headers.n.toString() !== v.slice(1)) headerMismatch++
        seen.add(v)
        if (seen.size === total) { clearTimeout(timer); resolve() }
      }
    }).catch(reject)
  })
  await consumer.disconnect()
  assert(headerMismatch === 0, 'headers did not match values')
  await admin.disconnect()
  console.log('ok')
}

main().catch((e) => { console.error(e); process.exit(1) })
