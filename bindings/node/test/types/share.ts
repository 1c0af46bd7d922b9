// Type test of the share consumer's declarations in index.d.ts (`npm run test:types`, compiled,
// never run): kafka.shareConsumer() as docs/node.md shows it, and wrong usages that must not
// compile (each `@ts-expect-error` fails the build if its line compiles).

import { Kafka, AcknowledgeTypes, AcknowledgeType, ShareConsumer, ShareCommitResult, KafkaJSError } from 'kafkit'

async function shareGroups(kafka: Kafka): Promise<void> {
  const jobs: ShareConsumer = kafka.shareConsumer({ groupId: 'work-queue', acknowledgementMode: 'explicit', maxRecords: 100 })
  await jobs.connect()
  await jobs.subscribe({ topics: ['jobs', /^jobs-.*/], fromBeginning: true })
  await jobs.run({
    eachMessage: async ({ topic, partition, message, deliveryCount, acknowledge, renew }) => {
      const n: number = message.deliveryCount + deliveryCount
      const key: Buffer | null = message.key
      const offset: string = message.offset
      await renew()
      acknowledge(n > 3 ? AcknowledgeTypes.REJECT : 'accept')
      void [topic, partition, key, offset]
    },
  })
  await jobs.run({
    eachBatch: async ({ batch, acknowledge, renew, commit, isRunning }) => {
      for (const m of batch.messages) {
        if (!isRunning()) break
        await renew(m)
        acknowledge(m, m.value === null ? 'reject' : 'accept')
      }
      const results: ShareCommitResult[] = await commit()
      for (const r of results) {
        const e: KafkaJSError | null = r.error
        void [r.topic, r.partition, e]
      }
    },
  })
  jobs.on(jobs.events.START_BATCH_PROCESS, e => {
    const size: number = e.payload.batchSize
    void size
  })
  jobs.on('share_consumer.crash', e => {
    const error: Error = e.payload.error
    void error
  })
  const assigned: { [topic: string]: number[] } = await jobs.assignment()
  const id: string | null = jobs.memberId()
  const t: AcknowledgeType = 'release'
  void [assigned, id, t]
  await jobs.stop()
  await jobs.disconnect()

  // @ts-expect-error groupId is required
  kafka.shareConsumer({})
  // @ts-expect-error not an acknowledgement mode
  kafka.shareConsumer({ groupId: 'g', acknowledgementMode: 'auto' })
  await jobs.run({
    eachMessage: async ({ acknowledge }) => {
      // @ts-expect-error not an acknowledgement type
      acknowledge('skip')
    },
  })
  // @ts-expect-error run needs a handler
  await jobs.run({})
  // @ts-expect-error not a share consumer event
  jobs.on('consumer.fetch', () => {})
}

void shareGroups
