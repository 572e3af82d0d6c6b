// kafkajs consumer groups: two consumers of one group split a 4-partition topic and together read
// every message with run({ eachBatch }), resolving each offset and heartbeating by hand and
// committing as they go; the committed offsets are what admin.fetchOffsets reports; a later member
// of the group resumes after them; admin listGroups, describeGroups and deleteGroups (refused
// while the group has members, then the group and its offsets are gone).
const { Kafka, logLevel } = require('kafkajs')

function assert(cond, msg) { if (!cond) throw new Error(msg) }

const topic = 'js-group-topic'
const groupId = 'js-split-group'
const partitions = 4
const total = 400

function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timed out: ' + what)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function produce(kafka, from, count) {
  const producer = kafka.producer()
  await producer.connect()
  const messages = []
  for (let i = from; i < from + count; i++) messages.push({ partition: i % partitions, value: `m${i}` })
  const res = await producer.send({ topic, acks: -1, messages })
  for (const r of res) assert(r.errorCode === 0, 'produce error ' + JSON.stringify(r))
  await producer.disconnect()
}

function member(kafka, seen, assignments, name) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 300, rebalanceTimeout: 20000,
                                   maxWaitTimeInMs: 500 })
  consumer.on(consumer.events.GROUP_JOIN, (e) => { assignments[name] = (e.payload.memberAssignment[topic] || []).slice().sort() })
  const start = async () => {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break
          seen.push({ partition: batch.partition, offset: Number(message.offset), value: message.value.toString(), by: name })
          resolveOffset(message.offset)
          await heartbeat()
        }
        await commitOffsetsIfNecessary()
      }
    })
  }
  return { consumer, start }
}

async function waitFor(condition, ms, what) {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out: ' + what)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function main() {
  const kafka = new Kafka({ clientId: 'compat-kafkajs-group', brokers: [process.env.BOOTSTRAP], logLevel: logLevel.WARN,
                            connectionTimeout: 5000, requestTimeout: 30000, retry: { retries: 5 } })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] })
  await produce(kafka, 0, total)

  const seen = []
  const assignments = {}
  const a = member(kafka, seen, assignments, 'a')
  const b = member(kafka, seen, assignments, 'b')
  await withTimeout(Promise.all([a.start(), b.start()]), 60000, 'consumers starting')
  await waitFor(() => new Set(seen.map((m) => m.value)).size === total &&
                      (assignments.a || []).length + (assignments.b || []).length === partitions,
                90000, `all messages (${seen.length}/${total})`)
  // The last generation splits the partitions 2 + 2.
  assert(assignments.a.length === 2 && assignments.b.length === 2, 'assignment ' + JSON.stringify(assignments))
  // Every offset of every partition was consumed (a rebalance may replay what was consumed but
  // not yet committed, so a message may come twice, never not at all).
  const byPartition = {}
  for (const m of seen) (byPartition[m.partition] = byPartition[m.partition] || new Set()).add(m.offset)
  for (let p = 0; p < partitions; p++) {
    const offsets = byPartition[p] || new Set()
    assert(offsets.size === total / partitions, `partition ${p}: ${offsets.size} distinct offsets`)
    for (let o = 0; o < total / partitions; o++) assert(offsets.has(o), `partition ${p}: offset ${o} missing`)
  }

  const described = await admin.describeGroups([groupId])
  assert(described.groups[0].state === 'Stable', 'state ' + described.groups[0].state)
  assert(described.groups[0].members.length === 2, 'two members expected')
  assert(described.groups[0].members.every((m) => m.clientHost === '/127.0.0.1'), 'client host')
  const listed = await admin.listGroups()
  assert(listed.groups.some((g) => g.groupId === groupId && g.protocolType === 'consumer'), 'listGroups ' + JSON.stringify(listed))

  // A group with members cannot be deleted (NON_EMPTY_GROUP, 68).
  let refused = null
  try {
    await admin.deleteGroups([groupId])
  } catch (e) {
    refused = e
  }
  assert(refused && refused.groups && refused.groups[0].errorCode === 68,
         'deleteGroups of a live group: ' + (refused ? JSON.stringify(refused.groups) : 'accepted'))

  // Disconnecting commits what was consumed and leaves the group.
  await a.consumer.disconnect()
  await b.consumer.disconnect()
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  for (const p of offsets[0].partitions) {
    assert(p.offset === String(total / partitions), `committed offset of ${p.partition}: ${p.offset}`)
  }
  const empty = await admin.describeGroups([groupId])
  assert(empty.groups[0].state === 'Empty', 'state after leaving ' + empty.groups[0].state)

  // A new member of the group resumes after the commits: it gets only the new messages.
  await produce(kafka, total, 20)
  const later = []
  const c = member(kafka, later, {}, 'c')
  await withTimeout(c.start(), 60000, 'late consumer starting')
  await waitFor(() => later.length >= 20, 60000, `new messages (${later.length}/20)`)
  assert(later.every((m) => m.offset >= total / partitions), 'consumed a committed message again')
  assert(new Set(later.map((m) => m.value)).size === 20, 'duplicates among the new messages')
  await c.consumer.disconnect()

  const deleted = await admin.deleteGroups([groupId])
  assert(deleted[0].errorCode === 0, 'deleteGroups ' + JSON.stringify(deleted))
  const after = await admin.listGroups()
  assert(!after.groups.some((g) => g.groupId === groupId), 'group still listed')
  // Its committed offsets went with it.
  const gone = await admin.fetchOffsets({ groupId, topics: [topic] })
  assert(gone[0].partitions.length === partitions && gone[0].partitions.every((p) => p.offset === '-1'),
         'offsets after deleteGroups ' + JSON.stringify(gone))
  await admin.disconnect()
  console.log('ok')
}

main().catch((e) => { console.error(e); process.exit(1) })
