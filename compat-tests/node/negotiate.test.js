// kafkajs connects, negotiates API versions and describes the cluster.
const { Kafka, logLevel } = require('kafkajs')

async function main() {
  const bootstrap = process.env.BOOTSTRAP
  const kafka = new Kafka({ clientId: 'compat-kafkajs', brokers: [bootstrap], logLevel: logLevel.WARN,
                            connectionTimeout: 5000, requestTimeout: 10000, retry: { retries: 2 } })
  const admin = kafka.admin()
  await admin.connect()
  const cluster = await admin.describeCluster()
  console.log('describeCluster:', JSON.stringify(cluster))
  const port = Number(bootstrap.split(':')[1])
  if (cluster.brokers.length !== 1) throw new Error('expected one broker')
  if (cluster.brokers[0].host !== '127.0.0.1' || cluster.brokers[0].port !== port) throw new Error('wrong address')
  if (cluster.controller !== cluster.brokers[0].nodeId) throw new Error('controller is not the broker')
  if (!cluster.clusterId) throw new Error('no cluster id')
  const topics = await admin.listTopics()
  console.log('listTopics:', JSON.stringify(topics))
  await admin.disconnect()
  console.log('ok')
}

main().catch((e) => { console.error(e); process.exit(1) })
