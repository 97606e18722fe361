import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { beforeAll } from "vitest"
import * as SimulatorServer from "../src/Simulator/Server.js"
import * as Window from "../src/Window.js"
import type { ConnectorProcess } from "./support/connectorProcess.js"
import { assertDistBuilt, startConnector } from "./support/connectorProcess.js"
import type { FakeOpenCti } from "./support/FakeOpenCti.js"
import { fakeOpenCti, pushQueue } from "./support/FakeOpenCti.js"
import {
  childScenario,
  deliveryOfMessages,
  platformState,
  referenceImport,
  scenarioSettings,
  undeliveredThroughState
} from "./support/importHarness.js"
import { consumeAll, describeWithRabbit } from "./support/rabbit.js"
import { startTcpProxy } from "./support/TcpProxy.js"

beforeAll(() => assertDistBuilt())

const { importStartDate, simulatorOptions, today } = childScenario(9)

/**
 * A scheduled connector (one run an hour) against the fake platform (at `url` when it is reached
 * through a proxy) and the simulator.
 */
const scheduledConnector = (fake: FakeOpenCti, url = fake.url) =>
  Effect.gen(function*() {
    const simulator = yield* SimulatorServer.start(simulatorOptions)
    const connectorId = randomUUID()
    const child = startConnector({
      OPENCTI_URL: url,
      OPENCTI_TOKEN: fake.token,
      CONNECTOR_ID: connectorId,
      CONNECTOR_DURATION_PERIOD: "PT1H",
      SPYCLOUD_API_BASE_URL: simulator.baseUrl,
      SPYCLOUD_API_KEY: simulator.apiKey,
      SPYCLOUD_IMPORT_START_DATE: importStartDate,
      SPYCLOUD_WINDOW_MAX_RECORDS: "300"
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
    return { child, connectorId }
  })

/** Sends `signal` and measures how long the connector takes to exit. */
const stop = (child: ConnectorProcess, fake: FakeOpenCti, signal: NodeJS.Signals) =>
  Effect.promise(async () => {
    const operationsBefore = fake.operations().length
    const sentAt = Date.now()
    child.kill(signal)
    const exit = await child.waitForExit(15_000)
    return {
      exit,
      seconds: (Date.now() - sentAt) / 1000,
      after: fake.operations().slice(operationsBefore)
    }
  })

const lastSaved = (child: ConnectorProcess) =>
  child.lines().filter((line) => line.message === "Saved the connector state").at(-1)
    ?.attributes?.["completed_through"]

describeWithRabbit("Shutdown", () => {
  it.scopedLive(
    "SIGTERM during a run: exit 0 in seconds, completed windows saved, work closed",
    () =>
      Effect.gen(function*() {
        const settings = yield* scenarioSettings({
          spycloud: { import_start_date: importStartDate, window_max_records: 300 }
        })
        const reference = yield* referenceImport({ simulator: simulatorOptions, settings, today })
        const fake = yield* fakeOpenCti()
        const { child, connectorId } = yield* scheduledConnector(fake)

        yield* Effect.promise(async () => {
          await child.waitForMessage("Saved the connector state")
          const pages = child.lines().filter((line) =>
            line.message === "Imported a page of breach records"
          ).length
          await child.waitForMessage("Imported a page of breach records", pages + 1)
        })
        const stopped = yield* stop(child, fake, "SIGTERM")

        expect(stopped.exit).toEqual({ code: 0, signal: null })
        expect(stopped.seconds).toBeLessThan(10)
        const saved = lastSaved(child)
        const state = platformState(fake.connector(connectorId)?.state)
        expect(state).toEqual({ version: 1, types: { all: { completedThrough: saved } } })
        expect(String(saved) < reference.state.types["all"]!.completedThrough).toBe(true)
        const delivered = deliveryOfMessages(
          yield* Effect.promise(() => consumeAll(pushQueue(connectorId)))
        )
        expect(undeliveredThroughState(reference, state, delivered)).toEqual([])

        const [work, ...others] = fake.works()
        expect(others).toEqual([])
        expect(work!.processed).toBe(true)
        expect(work!.errors).toEqual([])
        expect(work!.messages).toHaveLength(1)
        expect(work!.messages[0]).toMatch(
          /^Run interrupted by a shutdown after \d+ records, \d+ objects in \d+ bundles, 0 records skipped, \d+ windows; completed windows are saved$/
        )
        expect(child.lines().map((line) => line.message)).toContain(
          "Run interrupted; completed windows are saved"
        )
        const finalPings = stopped.after.filter((operation) =>
          operation.operationName === "PingConnector"
        )
        expect(finalPings.length).toBeGreaterThan(0)
        expect(finalPings.at(-1)!.variables["state"]).toBe(fake.connector(connectorId)?.state)
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "SIGTERM while the platform hangs: exit 0 in seconds all the same",
    () =>
      Effect.gen(function*() {
        const fake = yield* fakeOpenCti()
        const platform = yield* Effect.acquireRelease(
          Effect.promise(() => startTcpProxy({ port: Number(new URL(fake.url).port) })),
          (proxy) => Effect.promise(() => proxy.close())
        )
        const { child, connectorId } = yield* scheduledConnector(
          fake,
          `http://127.0.0.1:${platform.port}`
        )
        yield* Effect.promise(() => child.waitForMessage("Saved the connector state"))
        const saved = lastSaved(child)
        platform.stall()

        const stopped = yield* stop(child, fake, "SIGTERM")

        expect(stopped.exit).toEqual({ code: 0, signal: null })
        expect(stopped.seconds).toBeLessThan(10)
        expect(stopped.after).toEqual([])
        expect(platformState(fake.connector(connectorId)?.state)).toEqual({
          version: 1,
          types: { all: { completedThrough: saved } }
        })
        expect(
          child.lines().filter((line) => line.level === "WARNING").map((line) => line.message)
        ).toEqual(expect.arrayContaining(["The run's work could not be closed"]))
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "SIGTERM while the broker hangs: exit 0 in seconds, the work closed",
    () =>
      Effect.gen(function*() {
        const broker = yield* Effect.acquireRelease(
          Effect.promise(() => startTcpProxy({ port: 5672 })),
          (proxy) => Effect.promise(() => proxy.close())
        )
        const fake = yield* fakeOpenCti({ brokerPort: broker.port })
        const { child, connectorId } = yield* scheduledConnector(fake)
        yield* Effect.promise(() => child.waitForMessage("Saved the connector state"))
        const saved = lastSaved(child)
        broker.stall()

        const stopped = yield* stop(child, fake, "SIGTERM")

        expect(stopped.exit).toEqual({ code: 0, signal: null })
        expect(stopped.seconds).toBeLessThan(10)
        expect(platformState(fake.connector(connectorId)?.state)).toEqual({
          version: 1,
          types: { all: { completedThrough: saved } }
        })
        expect(fake.works().map((work) => [work.processed, work.errors])).toEqual([[true, []]])
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "SIGINT between runs: exit 0 at once, with a last ping",
    () =>
      Effect.gen(function*() {
        const fake = yield* fakeOpenCti()
        const { child, connectorId } = yield* scheduledConnector(fake)
        yield* Effect.promise(() => child.waitForMessage("Schedule next run of connector"))

        const stopped = yield* stop(child, fake, "SIGINT")

        expect(stopped.exit).toEqual({ code: 0, signal: null })
        expect(stopped.seconds).toBeLessThan(5)
        expect(stopped.after.map((operation) => operation.operationName)).toEqual(["PingConnector"])
        expect(platformState(fake.connector(connectorId)?.state)).toEqual({
          version: 1,
          types: { all: { completedThrough: Window.addDays(today, -1) } }
        })
        const [work] = fake.works()
        expect([work!.processed, work!.errors]).toEqual([true, []])
        expect(work!.messages[0]).toMatch(/^SpyCloud connector successfully run: 1\d{3} records/)
      }),
    { timeout: 60_000 }
  )
})
