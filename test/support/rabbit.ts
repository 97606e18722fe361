/**
 * The real RabbitMQ broker at 127.0.0.1:5672 (guest/guest) in tests: whether it is there, suites
 * that need it (skipped loudly on a developer machine without it, failing under CI), reading a
 * queue back, and a TCP proxy that can cut the connections through it.
 */
import { describe, it } from "@effect/vitest"
import type { MessageProperties } from "amqplib"
import * as amqp from "amqplib"
import type { Socket } from "node:net"
import { connect, createServer } from "node:net"
import type { AddressInfo } from "node:net"

export const rabbitUrl = "amqp://guest:guest@127.0.0.1:5672"

export const rabbitAvailable = async (timeoutMs = 2_000): Promise<boolean> => {
  try {
    const model = await amqp.connect(rabbitUrl, { timeout: timeoutMs })
    await model.close()
    return true
  } catch {
    return false
  }
}

const rabbitIsUp = await rabbitAvailable()

/**
 * A suite that needs the broker. Without one it is skipped with a warning nobody can miss, except
 * under `CI=true`, where a missing broker is a failure.
 */
export const describeWithRabbit = (name: string, body: () => void): void => {
  if (rabbitIsUp) {
    describe(name, body)
    return
  }
  if (process.env["CI"] === "true") {
    describe(name, () => {
      it("needs RabbitMQ at 127.0.0.1:5672", () => {
        throw new Error("RabbitMQ is not reachable at 127.0.0.1:5672 (guest/guest); CI must run it")
      })
    })
    return
  }
  console.warn(
    [
      "",
      "!".repeat(78),
      `!!! SKIPPED "${name}": RabbitMQ is not reachable at 127.0.0.1:5672 (guest/guest).`,
      "!!! These tests cover the AMQP push. Start a broker to run them; CI runs them always.",
      "!".repeat(78),
      ""
    ].join("\n")
  )
  describe.skip(name, body)
}

/** A queue message as a worker reads it: the body, its one-object bundle and the properties. */
export interface QueuedMessage {
  readonly body: Record<string, unknown>
  readonly piece: {
    readonly type: string
    readonly id: string
    readonly spec_version: string
    readonly x_opencti_seq: number
    readonly objects: ReadonlyArray<{ readonly type: string; readonly id: string }>
  }
  readonly properties: MessageProperties
}

/** Takes every message out of `queue`, in queue order. */
export const consumeAll = async (
  queue: string,
  timeoutMs = 20_000
): Promise<Array<QueuedMessage>> => {
  const model = await amqp.connect(rabbitUrl)
  try {
    const channel = await model.createChannel()
    const { messageCount } = await channel.checkQueue(queue)
    if (messageCount === 0) return []
    const received: Array<QueuedMessage> = []
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${received.length} of ${messageCount} messages in ${queue}`)),
        timeoutMs
      )
      channel.consume(queue, (message) => {
        if (message === null) return
        const body = JSON.parse(message.content.toString("utf8"))
        const piece = JSON.parse(Buffer.from(body.content, "base64").toString("utf8"))
        received.push({ body, piece, properties: message.properties })
        if (received.length === messageCount) {
          clearTimeout(timer)
          resolve()
        }
      }, { noAck: true }).catch(reject)
    })
    return received
  } finally {
    await model.close()
  }
}

export const queueLength = async (queue: string): Promise<number> => {
  const model = await amqp.connect(rabbitUrl)
  try {
    const channel = await model.createChannel()
    return (await channel.checkQueue(queue)).messageCount
  } finally {
    await model.close()
  }
}

export const deleteQueue = async (queue: string): Promise<void> => {
  const model = await amqp.connect(rabbitUrl)
  try {
    const channel = await model.createChannel()
    await channel.deleteQueue(queue)
  } finally {
    await model.close()
  }
}

export interface TcpProxy {
  readonly port: number
  /** Connections opened through the proxy so far. */
  readonly connections: () => number
  /** Cuts every open connection, as a broker restart does. */
  readonly cutConnections: () => void
  readonly close: () => Promise<void>
}

/** A TCP proxy on 127.0.0.1 to `127.0.0.1:targetPort`. */
export const tcpProxy = async (targetPort: number): Promise<TcpProxy> => {
  const open = new Set<Socket>()
  let opened = 0
  const server = createServer((client) => {
    opened += 1
    const upstream = connect(targetPort, "127.0.0.1")
    for (const socket of [client, upstream]) {
      open.add(socket)
      socket.on("error", () => undefined)
      socket.on("close", () => {
        open.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => opened,
    cutConnections: () => {
      for (const socket of open) socket.destroy()
    },
    close: async () => {
      for (const socket of open) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** A port on 127.0.0.1 where nothing listens. */
export const closedPort = async (): Promise<number> => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
