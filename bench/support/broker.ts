/**
 * The local RabbitMQ broker in the end-to-end benchmark: reading the connector's queue back (the
 * size of every message, which also empties the queue), purging it, and the broker's ceiling, a
 * bare amqplib publisher with publisher confirms sending messages of the same sizes.
 */
import * as amqp from "amqplib"
import { secondsSince } from "./stats.js"

export const rabbitUrl = "amqp://guest:guest@127.0.0.1:5672"

/** Where the connector's messages go: the push exchange, its routing key and the queue behind. */
export interface PushQueue {
  readonly exchange: string
  readonly routingKey: string
  readonly queue: string
}

const withChannel = async <A>(use: (channel: amqp.Channel) => Promise<A>): Promise<A> => {
  const model = await amqp.connect(rabbitUrl)
  try {
    return await use(await model.createChannel())
  } finally {
    await model.close()
  }
}

export const brokerReachable = async (): Promise<boolean> => {
  try {
    await (await amqp.connect(rabbitUrl, { timeout: 2_000 })).close()
    return true
  } catch {
    return false
  }
}

export const queueLength = (queue: string): Promise<number> =>
  withChannel(async (channel) => (await channel.checkQueue(queue)).messageCount)

export const purgeQueue = (queue: string): Promise<void> =>
  withChannel(async (channel) => {
    await channel.purgeQueue(queue)
  })

/**
 * Takes every message out of `queue` and returns their body sizes in queue order, which is the
 * order they were published in.
 */
export const drainSizes = (queue: string): Promise<Int32Array> =>
  withChannel(async (channel) => {
    const { messageCount } = await channel.checkQueue(queue)
    const sizes = new Int32Array(messageCount)
    if (messageCount === 0) return sizes
    let received = 0
    await channel.prefetch(5_000)
    await new Promise<void>((resolve, reject) => {
      channel.consume(queue, (message) => {
        if (message === null) return reject(new Error(`The queue ${queue} was deleted`))
        sizes[received++] = message.content.length
        if (received === messageCount) resolve()
      }, { noAck: true }).catch(reject)
    })
    return sizes
  })

/**
 * Publishes one message of each size, persistent and mandatory as the connector publishes them,
 * as fast as the channel accepts them, and returns the seconds until the broker confirmed the
 * last one. The bodies are slices of one buffer: the broker does not look inside them.
 */
export const publishCeiling = async (
  target: PushQueue,
  sizes: Int32Array
): Promise<{ readonly seconds: number; readonly messages: number }> => {
  const model = await amqp.connect(rabbitUrl, { noDelay: true })
  try {
    const channel = await model.createConfirmChannel()
    let returned = 0
    channel.on("return", () => {
      returned++
    })
    const body = Buffer.alloc(sizes.reduce((largest, size) => Math.max(largest, size), 1), "x")
    const options = { persistent: true, contentEncoding: "utf-8", mandatory: true }

    const start = process.hrtime.bigint()
    for (const size of sizes) {
      if (!channel.publish(target.exchange, target.routingKey, body.subarray(0, size), options)) {
        await new Promise((resolve) => channel.once("drain", resolve))
      }
    }
    await channel.waitForConfirms()
    const seconds = secondsSince(start)

    if (returned > 0) throw new Error(`The broker could not route ${returned} messages`)
    return { seconds, messages: sizes.length }
  } finally {
    await model.close()
  }
}
