// @platformatic/kafka 1.x on Node 22: a current client that sends the highest version of every API
// the broker advertises (flexible versions throughout: Produce v11, Fetch v17, Metadata v12,
// JoinGroup v9, ...). Admin createTopics/createPartitions/metadata/listOffsets, an idempotent zstd
// producer with headers, a consumer group that reads everything and commits, the committed offsets
// read back and moved through the admin client, incrementalAlterConfigs/describeConfigs,
// deleteRecords, describeGroups/listGroups, deleteGroups, two members splitting the partitions, and
// deleteTopics.
// BOOTSTRAP comes from lib/broker_process.py; PLATFORMATIC_KAFKA is the package's folder.
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'

const kafka = await import(pathToFileURL(join(process.env.PLATFORMATIC_KAFKA, 'dist', 'index.js')).href)
const { Admin, Producer, Consumer, stringSerializers, stringDeserializers } = kafka

function assert(cond, msg) { if (!cond) throw new Error(msg) }

const brokers = [process.env.BOOTSTRAP]
const topic = 'modern-topic'
const group = 'modern-group'
const total = 400

const watchdog = setTimeout(() => { console.error('timed out'); process.exit(1) }, 120000)

const admin = new Admin({ clientId: 'compat-modern-admin', bootstrapBrokers: brokers })
await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 })
let md = await admin.metadata({ topics: [topic] })
assert(md.topics.get(topic).partitionsCount === 3, 'three partitions expected')
await admin.createPartitions({ topics: [{ name: topic, count: 4 }] })
md = await admin.metadata({ topics: [topic], forceUpdate: true })
assert(md.topics.get(topic).partitionsCount === 4, 'four partitions after createPartitions, got ' +
       md.topics.get(topic).partitionsCount)

const producer = new Producer({ clientId: 'compat-modern-producer', bootstrapBrokers: brokers,
                                serializers: stringSerializers, idempotent: true, compression: 'zstd' })
for (let b = 0; b < 4; b++) {
  const messages = []
  for (let i = b * 100; i < (b + 1) * 100; i++) {
    messages.push({ topic, partition: i % 4, key: `k${i}`, value: `v${i}`, headers: { n: `${i}` } })
  }
  const res = await producer.send({ messages, acks: -1 })
  assert(res.offsets.length === 4, 'one offset per partition expected: ' + res.offsets.length)
}
await producer.close()

const listed = await admin.listOffsets({
  topics: [{ name: topic, partitions: [0, 1, 2, 3].map((p) => ({ partitionIndex: p, timestamp: -1n })) }]
})
const ends = listed[0].partitions.map((p) => Number(p.offset))
assert(ends.every((o) => o === 100), 'each partition should end at 100: ' + ends)

const consumer = new Consumer({ groupId: group, clientId: 'compat-modern-consumer', bootstrapBrokers: brokers,
                                deserializers: stringDeserializers })
const stream = await consumer.consume({ autocommit: false, topics: [topic], mode: 'earliest',
                                        sessionTimeout: 10000, heartbeatInterval: 500 })
const seen = new Set()
const last = new Map()
for await (const m of stream) {
  assert(m.headers.get('n') === m.value.slice(1), `header ${m.headers.get('n')} for ${m.value}`)
  assert(m.key === 'k' + m.value.slice(1), `key ${m.key} for ${m.value}`)
  assert(Number(m.value.slice(1)) % 4 === m.partition, `${m.value} on partition ${m.partition}`)
  seen.add(m.value)
  last.set(m.partition, m)
  if (seen.size === total) break
}
for (const m of last.values()) await m.commit()
await stream.close()

const described = await admin.describeGroups({ groups: [group] })
const state = described.get(group).state
assert(state === 'STABLE' || state === 'EMPTY', 'group state ' + state)
await consumer.close()

const committed = await admin.listConsumerGroupOffsets({ groups: [group] })
const parts = committed[0].topics.find((t) => t.name === topic).partitions
assert(parts.length === 4 && parts.every((p) => p.committedOffset === 100n),
       'committed offsets: ' + parts.map((p) => `${p.partitionIndex}:${p.committedOffset}`))

// An empty group's offsets can be moved by an admin.
await admin.alterConsumerGroupOffsets({ groupId: group, topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset: 42n }] }] })
const moved = (await admin.listConsumerGroupOffsets({ groups: [group] }))[0].topics.find((t) => t.name === topic)
assert(moved.partitions.find((p) => p.partitionIndex === 0).committedOffset === 42n, 'alterConsumerGroupOffsets')

// Topic configs: set one incrementally and read it back as a dynamic topic config.
await admin.incrementalAlterConfigs({ resources: [{ resourceType: 2, resourceName: topic,
                                                    configs: [{ name: 'retention.ms', configOperation: 0, value: '7200000' }] }] })
const configs = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: topic,
                                                              configurationKeys: ['retention.ms', 'cleanup.policy'] }] })
const cfg = new Map(configs[0].configs.map((c) => [c.name, c]))
assert(cfg.get('retention.ms').value === '7200000' && cfg.get('retention.ms').configSource === 1,
       'retention.ms: ' + JSON.stringify(cfg.get('retention.ms')))
assert(cfg.get('cleanup.policy').value === 'delete' && cfg.get('cleanup.policy').configSource === 5,
       'cleanup.policy: ' + JSON.stringify(cfg.get('cleanup.policy')))

// DeleteRecords moves the log start offset, which ListOffsets earliest then reports.
const deleted = await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 1, offset: 30n }] }] })
assert(deleted[0].partitions[0].lowWatermark === 30n, 'deleteRecords low watermark')
const earliest = await admin.listOffsets({
  topics: [{ name: topic, partitions: [0, 1].map((p) => ({ partitionIndex: p, timestamp: -2n })) }]
})
const starts = earliest[0].partitions.sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => Number(p.offset))
assert(starts[0] === 0 && starts[1] === 30, 'earliest offsets after deleteRecords: ' + starts)

const groups = await admin.listGroups()
assert(groups.has(group), 'listGroups should include the group')
assert((await admin.describeGroups({ groups: [group] })).get(group).state === 'EMPTY', 'group should be empty')
await admin.deleteGroups({ groups: [group] })
assert(!(await admin.listGroups()).has(group), 'group should be gone')

// Two members of one group split the four partitions of a fresh topic (JoinGroup/SyncGroup with
// the client's own assignor), and between them read every message produced once both are in. Which
// member gets which message is not asserted: a long poll issued before the rebalance may still
// deliver to the old owner (at-least-once), so rounds are produced until both members have read
// some and together all of them.
async function until(what, cond, ms = 30000) {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what)
    await new Promise((r) => setTimeout(r, 50))
  }
}
const pairTopic = 'modern-pair-topic'
await admin.createTopics({ topics: [pairTopic], partitions: 4, replicas: 1 })
const member = (id) => new Consumer({ groupId: 'modern-pair', clientId: id, bootstrapBrokers: brokers,
                                      deserializers: stringDeserializers, sessionTimeout: 10000,
                                      heartbeatInterval: 300, rebalanceTimeout: 10000 })
const owned = (c) => (c.assignments ?? []).flatMap((a) => a.topic === pairTopic ? a.partitions : [])
const first = member('compat-modern-m1')
const second = member('compat-modern-m2')
const got = { first: new Set(), second: new Set() }
const streamOptions = { autocommit: 200, topics: [pairTopic], mode: 'committed', fallbackMode: 'earliest' }
const s1 = await first.consume(streamOptions)
s1.on('data', (m) => got.first.add(m.value))
await until('the first member to own all partitions', () => owned(first).length === 4)
const s2 = await second.consume(streamOptions)
s2.on('data', (m) => got.second.add(m.value))
await until('the partitions to be split', () => {
  const a = owned(first)
  const b = owned(second)
  return a.length === 2 && b.length === 2 && new Set([...a, ...b]).size === 4
})
const pairProducer = new Producer({ clientId: 'compat-modern-producer-2', bootstrapBrokers: brokers,
                                    serializers: stringSerializers })
const produced = []
const allRead = () => produced.every((v) => got.first.has(v) || got.second.has(v))
for (let round = 0; round < 20 && !(got.first.size > 0 && got.second.size > 0 && allRead()); round++) {
  const messages = []
  for (let i = 0; i < 40; i++) messages.push({ topic: pairTopic, partition: i % 4, value: `r${round}-${i}` })
  await pairProducer.send({ messages })
  produced.push(...messages.map((m) => m.value))
  await until(`round ${round} to be read`, allRead)
}
await pairProducer.close()
assert(got.first.size > 0 && got.second.size > 0, `both members should read: ${got.first.size}, ${got.second.size}`)
assert(allRead(), 'every produced message should be read by one of the members')
const pair = (await admin.describeGroups({ groups: ['modern-pair'] })).get('modern-pair')
assert(pair.state === 'STABLE' && pair.members.size === 2, `pair group: ${pair.state}, ${pair.members.size} members`)
await s1.close()
await s2.close()
await first.close()
await second.close()
await admin.deleteTopics({ topics: [pairTopic] })

await admin.deleteTopics({ topics: [topic] })
md = await admin.metadata({ topics: [], forceUpdate: true })
assert(!md.topics.has(topic), 'topic should be gone')
await admin.close()
clearTimeout(watchdog)
console.log('ok')
