import { expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { randomUUID } from "node:crypto"
import { beforeAll } from "vitest"
import * as SimulatorServer from "../src/Simulator/Server.js"
import type { ConnectorState } from "../src/StateStore.js"
import type { LogLine } from "./support/connectorProcess.js"
import { fakeOpenCti, pushQueue } from "./support/FakeOpenCti.js"
import type { Delivery, Reference } from "./support/importHarness.js"
import {
  captureLogs,
  deliveryOfMessages,
  differences,
  emptyDelivery,
  failureOf,
  platformConnector,
  platformState,
  scenarioReference,
  scenarioSettings,
  simulatorApi,
  simulatorOptions,
  undeliveredThroughState
} from "./support/importHarness.js"
import { consumeAll, describeWithRabbit } from "./support/rabbit.js"
import type { TcpProxy } from "./support/TcpProxy.js"
import { startTcpProxy } from "./support/TcpProxy.js"

let reference: Reference

beforeAll(async () => {
  reference = await Effect.runPromise(scenarioReference())
})

const proxy = (port: number) =>
  Effect.acquireRelease(
    Effect.promise(() => startTcpProxy({ port })),
    (started) => Effect.promise(() => started.close())
  )

/**
 * The connector as `run` assembles it, reaching the fake platform and the broker through proxies
 * the test can cut. `onLine` sees every log line as it is written.
 */
const connectorBehindProxies = (onLine: (line: LogLine, proxies: Proxies) => void) =>
  Effect.gen(function*() {
    const broker = yield* proxy(5672)
    const fake = yield* fakeOpenCti({ brokerPort: broker.port })
    const platform = yield* proxy(Number(new URL(fake.url).port))
    const logs = yield* captureLogs("info", (line) => onLine(line, { broker, platform }))
    const simulator = yield* SimulatorServer.start(simulatorOptions())
    const connectorId = randomUUID()
    const settings = yield* scenarioSettings({
      opencti: { url: `http://127.0.0.1:${platform.port}`, token: fake.token },
      connector: { id: connectorId }
    })
    const connector = yield* platformConnector(settings, simulatorApi(simulator))

    let delivered: Delivery = emptyDelivery
    /** Runs once, then reads what reached the queue and checks the state against it. */
    const run = Effect.gen(function*() {
      const exit = yield* connector.run
      const messages = yield* Effect.promise(() => consumeAll(pushQueue(connectorId)))
      delivered = deliveryOfMessages(messages, delivered)
      const state = platformState(fake.connector(connectorId)?.state)
      expect(undeliveredThroughState(reference, state, delivered)).toEqual([])
      return { exit, state }
    })

    return {
      run,
      delivered: () => delivered,
      logs,
      broker,
      platform,
      fake,
      connectorId,
      expectComplete: () => {
        expect(differences(reference.ids, delivered.ids)).toEqual({
          missing: [],
          unexpected: [],
          missingCount: 0,
          unexpectedCount: 0
        })
        expect(platformState(fake.connector(connectorId)?.state)).toEqual(reference.state)
      }
    }
  })

interface Proxies {
  readonly broker: TcpProxy
  readonly platform: TcpProxy
}

/** Calls `action` once, at the `count`-th log line with `message`. */
const atLine = (message: string, count: number, action: (proxies: Proxies) => void) => {
  let seen = 0
  return (line: LogLine, proxies: Proxies) => {
    if (line.message === message && ++seen === count) action(proxies)
  }
}

const stateThrough = (day: string): ConnectorState => ({
  version: 1,
  types: { all: { completedThrough: day } }
})

describeWithRabbit("Outage", () => {
  it.scopedLive("the broker cut mid-run: the run fails, the state stays with what was confirmed", () =>
    Effect.gen(function*() {
      const connector = yield* connectorBehindProxies(
        atLine("Saved the connector state", 2, ({ broker }) => broker.cut())
      )

      const failed = yield* connector.run
      const error = failureOf(failed.exit)
      expect(error._tag).toBe("OpenCtiError")
      expect(error.message).toMatch(
        /^(The RabbitMQ broker at amqp:\/\/127\.0\.0\.1:\d+ \(vhost "\/"\) did not confirm every one of the \d+ messages of the bundle .*; the bundle must be pushed again\.|Cannot open a connection to the RabbitMQ broker at amqp:\/\/127\.0\.0\.1:\d+ \(vhost "\/"\): .*)$/
      )
      expect(failed.state).toEqual(stateThrough("2026-08-12"))
      expect(connector.fake.works().map((work) => [work.processed, work.errors.length])).toEqual([
        [true, 1]
      ])

      connector.broker.restore()
      const resumed = yield* connector.run
      expect(Exit.isSuccess(resumed.exit)).toBe(true)
      connector.expectComplete()
    }))

  it.scopedLive("the broker cut and back between windows: the next push reconnects", () =>
    Effect.gen(function*() {
      const connector = yield* connectorBehindProxies(
        atLine("Saved the connector state", 2, ({ broker }) => {
          broker.cut()
          broker.restore()
        })
      )

      const { exit } = yield* connector.run

      expect(Exit.isSuccess(exit)).toBe(true)
      expect(connector.broker.connections()).toBe(2)
      connector.expectComplete()
    }))

  it.scopedLive("the platform cut mid-run: the run fails, the state stays where it was saved", () =>
    Effect.gen(function*() {
      const connector = yield* connectorBehindProxies(
        atLine("Saved the connector state", 2, ({ platform }) => platform.cut())
      )

      const failed = yield* connector.run
      const error = failureOf(failed.exit)
      expect(error._tag).toBe("OpenCtiError")
      expect(error.message).toMatch(
        /^Cannot reach the OpenCTI platform at http:\/\/127\.0\.0\.1:\d+ \(.+\)\. Check OPENCTI_URL and that the platform is running\.$/
      )
      expect(failed.state).toEqual(stateThrough("2026-08-12"))
      // The run's failure is logged even though its work cannot be closed.
      expect(connector.logs.map((line) => line.message)).toEqual(
        expect.arrayContaining([
          `Run failed: ${error.message}`,
          "The run's work could not be closed"
        ])
      )

      connector.platform.restore()
      const resumed = yield* connector.run
      expect(Exit.isSuccess(resumed.exit)).toBe(true)
      connector.expectComplete()
    }))

  it.scopedLive("the platform gone when a window is saved: the run fails, the state waits", () =>
    Effect.gen(function*() {
      // The ninth page is the last of the third window (2026-08-13): its bundles are confirmed
      // by the broker, then the ping that saves the window finds the platform gone.
      const connector = yield* connectorBehindProxies(
        atLine("Imported a page of breach records", 9, ({ platform }) => platform.cut())
      )

      const failed = yield* connector.run
      const error = failureOf(failed.exit)
      expect(error._tag).toBe("StateError")
      expect(error.message).toMatch(
        /^The state could not be saved in OpenCTI: Cannot reach the OpenCTI platform at .+\. It is sent again with the next ping; the last window is imported again if not\.$/
      )
      expect(failed.state).toEqual(stateThrough("2026-08-12"))
      expect(undeliveredThroughState(reference, stateThrough("2026-08-13"), connector.delivered()))
        .toEqual([])

      connector.platform.restore()
      const resumed = yield* connector.run
      expect(Exit.isSuccess(resumed.exit)).toBe(true)
      connector.expectComplete()
    }))
})
