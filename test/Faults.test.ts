import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Effect, Exit, Layer, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import { beforeAll } from "vitest"
import type { ImportError } from "../src/Ingestion.js"
import * as OpenCtiMemory from "../src/OpenCtiClient/Memory.js"
import { runOnce } from "../src/Runner.js"
import type { Faults, Simulator } from "../src/Simulator/Server.js"
import * as SimulatorServer from "../src/Simulator/Server.js"
import type { SpyCloudApi } from "../src/SpyCloudApi.js"
import * as SpyCloudHttp from "../src/SpyCloudApi/Http.js"
import type { ConnectorState } from "../src/StateStore.js"
import type { LogLine } from "./support/connectorProcess.js"
import { fakeOpenCti, pushQueue } from "./support/FakeOpenCti.js"
import type { Delivery, Reference } from "./support/importHarness.js"
import {
  captureLogs,
  checkedStateStore,
  clockAt,
  deliveryOfBundles,
  deliveryOfMessages,
  differences,
  emptyDelivery,
  failureOf,
  fastRetry,
  platformConnector,
  platformState,
  runLayers,
  scenario,
  scenarioReference,
  scenarioSettings,
  simulatorApi,
  simulatorOptions,
  undeliveredThroughState,
  windowsOf
} from "./support/importHarness.js"
import { consumeAll, describeWithRabbit } from "./support/rabbit.js"

let reference: Reference

beforeAll(async () => {
  reference = await Effect.runPromise(scenarioReference())
})

/**
 * One connector importing the scenario run after run into a platform in memory, its state checked
 * at every save: no day up to the saved one may have a reference incident not yet delivered.
 */
const memoryConnector = Effect.gen(function*() {
  const settings = yield* scenarioSettings()
  let lineHook: ((line: LogLine) => void) | undefined
  const logs = yield* captureLogs("debug", (line) => lineHook?.(line))
  const { client, platform } = yield* OpenCtiMemory.make()
  const violations: Array<string> = []
  let afterSave: ((state: ConnectorState, saves: number) => void) | undefined
  const store = yield* checkedStateStore({
    check: (state) =>
      Effect.map(platform.bundles, (bundles) => {
        violations.push(...undeliveredThroughState(reference, state, deliveryOfBundles(bundles)))
      }),
    afterSave: (state, saves) => afterSave?.(state, saves)
  })

  const run = (api: Layer.Layer<SpyCloudApi>) =>
    Effect.gen(function*() {
      const first = logs.length
      const exit = yield* Effect.exit(
        runOnce().pipe(
          Effect.provide(runLayers(settings, api, client, store.layer)),
          Effect.withClock(clockAt(scenario.today))
        )
      )
      return { exit, logs: logs.slice(first) }
    })

  return {
    run,
    /** Runs until one completes (at most `maxRuns`), returning the failures met on the way. */
    runUntilComplete: (api: Layer.Layer<SpyCloudApi>, maxRuns = 6) =>
      Effect.gen(function*() {
        const failures: Array<ImportError> = []
        for (let attempt = 0; attempt < maxRuns; attempt++) {
          const outcome = yield* run(api)
          if (Exit.isSuccess(outcome.exit)) return { failures, logs: outcome.logs }
          failures.push(failureOf(outcome.exit))
        }
        throw new Error(`No run completed in ${maxRuns}: ${failures.map((f) => f.message)}`)
      }),
    onSave: (hook: (state: ConnectorState, saves: number) => void) => {
      afterSave = hook
    },
    onLine: (hook: (line: LogLine) => void) => {
      lineHook = hook
    },
    delivered: Effect.map(platform.bundles, (bundles) => deliveryOfBundles(bundles)),
    state: store.state,
    works: platform.works,
    violations
  }
})

/** The retry warnings of the SpyCloud client, counted by reason. */
const retriesByReason = (logs: ReadonlyArray<LogLine>): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const line of logs) {
    if (line.level === "WARNING" && line.message.includes("; retrying in ")) {
      const reason = String(line.attributes?.["reason"])
      counts[reason] = (counts[reason] ?? 0) + 1
    }
  }
  return counts
}

const expectSameAsReference = (delivered: Delivery, state: ConnectorState) => {
  expect(differences(reference.ids, delivered.ids)).toEqual({
    missing: [],
    unexpected: [],
    missingCount: 0,
    unexpectedCount: 0
  })
  expect(state).toEqual(reference.state)
}

const stateThrough = (day: string): ConnectorState => ({
  version: 1,
  types: { all: { completedThrough: day } }
})

const withSimulator = (faults: Partial<Faults>) => SimulatorServer.start(simulatorOptions(faults))

describe("Faults", () => {
  it("compares with a clean import of several windows", () => {
    expect(reference.windows).toEqual([
      "2026-08-11..2026-08-11",
      "2026-08-12..2026-08-12",
      "2026-08-13..2026-08-13",
      "2026-08-14..2026-08-14",
      "2026-08-15..2026-08-15",
      "2026-08-16..2026-08-16",
      "2026-08-17..2026-08-17",
      "2026-08-18..2026-08-19"
    ])
    expect(reference.state).toEqual(stateThrough("2026-08-18"))
    expect(reference.incidentDays.size).toBe(2_000)
  })

  describe("each transient fault alone is retried and loses nothing", () => {
    const cases: ReadonlyArray<{
      readonly name: string
      readonly faults: Partial<Faults>
      readonly reason: string
      readonly requestTimeout?: Duration.DurationInput
      readonly met: (simulator: Simulator) => number
    }> = [
      {
        name: "504 answers at random",
        faults: { seed: 11, gatewayTimeoutRate: 0.15 },
        reason: "ServerError",
        met: (simulator) => simulator.counters().statuses["504"] ?? 0
      },
      {
        name: "429 throttling",
        faults: { seed: 12, throttleRate: 0.2, retryAfterSeconds: 1 },
        reason: "RateLimited",
        met: (simulator) => simulator.counters().statuses["429"] ?? 0
      },
      {
        name: "500 answers",
        faults: { seed: 13, serverErrorRate: 0.2 },
        reason: "ServerError",
        met: (simulator) => simulator.counters().statuses["500"] ?? 0
      },
      {
        name: "answers slower than the request timeout",
        faults: { seed: 14, delayRate: 0.1, delayMillis: 1_200 },
        reason: "Timeout",
        requestTimeout: "400 millis",
        met: () => 1
      },
      {
        name: "connections reset in the middle of the body",
        faults: { seed: 15, resetRate: 0.2 },
        reason: "BadResponse",
        met: (simulator) => simulator.counters().resets
      },
      {
        name: "truncated JSON bodies",
        faults: { seed: 16, truncateRate: 0.2 },
        reason: "BadResponse",
        met: (simulator) => simulator.counters().truncations
      }
    ]

    for (const { faults, met, name, reason, requestTimeout } of cases) {
      it.scopedLive(name, () =>
        Effect.gen(function*() {
          const simulator = yield* withSimulator(faults)
          const connector = yield* memoryConnector
          const api = simulatorApi(
            simulator,
            requestTimeout === undefined ? {} : { requestTimeout }
          )

          const { failures, logs } = yield* connector.runUntilComplete(api)

          expect(met(simulator)).toBeGreaterThan(0)
          const retries = retriesByReason(logs)
          expect(Object.keys(retries)).toEqual([reason])
          expect(retries[reason]).toBeGreaterThan(0)
          expect(failures.map((failure) => failure._tag)).toEqual(
            failures.map(() => "SpyCloudError")
          )
          expect(connector.violations).toEqual([])
          expectSameAsReference(yield* connector.delivered, yield* connector.state)
        }))
    }
  })

  it.scopedLive("waits as long as Retry-After asks before retrying a throttled request", () =>
    Effect.gen(function*() {
      const simulator = yield* withSimulator({ seed: 3, throttleRate: 0.03, retryAfterSeconds: 1 })
      const connector = yield* memoryConnector
      const api = simulatorApi(simulator, {
        retry: { ...fastRetry, longestRetryAfter: "3 minutes" }
      })

      const startedAt = Date.now()
      const { failures, logs } = yield* connector.runUntilComplete(api, 1)
      const elapsed = Date.now() - startedAt

      const throttled = logs.filter((line) => line.attributes?.["reason"] === "RateLimited")
      const throttles = simulator.counters().statuses["429"] ?? 0
      expect(throttles).toBeGreaterThan(0)
      expect(throttled.length).toBe(throttles)
      for (const line of throttled) {
        expect(line.message).toMatch(/\(TooManyRequestsException\).*; retrying in 1\.0 s\.$/)
      }
      expect(elapsed).toBeGreaterThanOrEqual(1_000)
      expect(failures).toEqual([])
      expectSameAsReference(yield* connector.delivered, yield* connector.state)
    }))

  it.scopedLive("splits a window that SpyCloud finds too broad, down to one severity a day", () =>
    Effect.gen(function*() {
      const simulator = yield* withSimulator({ tooBroadAbove: 260 })
      const connector = yield* memoryConnector

      const { failures, logs } = yield* connector.runUntilComplete(simulatorApi(simulator), 1)

      expect(failures).toEqual([])
      expect(
        logs
          .filter((line) => line.message.startsWith("SpyCloud keeps timing out on a single day"))
          .map((line) => line.attributes?.["day"])
      ).toEqual(["2026-08-11", "2026-08-12", "2026-08-16", "2026-08-17", "2026-08-18"])
      expect(windowsOf(logs)).toEqual([
        "2026-08-13..2026-08-13",
        "2026-08-14..2026-08-14",
        "2026-08-15..2026-08-15",
        "2026-08-19..2026-08-19"
      ])
      expect(connector.violations).toEqual([])
      expectSameAsReference(yield* connector.delivered, yield* connector.state)
    }))

  describe("a failure that does not pass fails the run, keeps the state of completed windows", () => {
    /**
     * The fault starts after the third saved window; the run must fail with `message`, its state
     * at that window, and the next run (fault over) must complete the import.
     */
    const failsThenResumes = (options: {
      readonly afterSaves: number
      readonly fault: Partial<Faults>
      readonly over: Partial<Faults>
      /** The error's tag, and its reason when it has one. */
      readonly error: string
      readonly message: string
      readonly savedThrough: string
      readonly requests?: (simulator: Simulator) => void
    }) =>
      Effect.gen(function*() {
        const simulator = yield* withSimulator({})
        const connector = yield* memoryConnector
        const api = simulatorApi(simulator)
        connector.onSave((_, saves) => {
          if (saves === options.afterSaves) {
            simulator.resetCounters()
            simulator.setFaults(options.fault)
          }
        })

        const failed = yield* connector.run(api)
        const error = failureOf(failed.exit)
        expect("reason" in error ? `${error._tag} ${error.reason}` : error._tag).toBe(
          options.error
        )
        expect(error.message).toBe(options.message)
        expect(yield* connector.state).toEqual(stateThrough(options.savedThrough))
        expect(connector.violations).toEqual([])
        const works = yield* connector.works
        expect(works.map((work) => [work.status, work.inError, work.message])).toEqual([
          ["complete", true, `Run failed: ${options.message}`]
        ])
        options.requests?.(simulator)

        connector.onSave(() => undefined)
        simulator.setFaults(options.over)
        const resumed = yield* connector.run(api)
        expect(Exit.isSuccess(resumed.exit)).toBe(true)
        expect(windowsOf(resumed.logs)[0]).toBe(
          `${options.savedThrough}..${options.savedThrough}`
        )
        expect(connector.violations).toEqual([])
        expectSameAsReference(yield* connector.delivered, yield* connector.state)
      })

    it.scopedLive("a 403 for the IP address, retried slowly, then named with what to do", () =>
      failsThenResumes({
        afterSaves: 3,
        fault: { ipNotAllowed: {} },
        over: { ipNotAllowed: undefined },
        error: "SpyCloudError IpNotAllowed",
        savedThrough: "2026-08-13",
        message: "SpyCloud answered 403 (SpyCloud-Error: IP address not allowed) to GET " +
          "breach/data/watchlist?since=2026-08-14&until=2026-08-15, and kept failing when " +
          "retried. SpyCloud refused this machine's IP address: add the connector's public IP " +
          "address to the API key's allow-list in the SpyCloud portal, then run again.",
        requests: (simulator) => expect(simulator.counters().statuses).toEqual({ "403": 4 })
      }))

    it.scopedLive("the monthly quota, not retried", () =>
      failsThenResumes({
        afterSaves: 2,
        fault: { quotaExceeded: {} },
        over: { quotaExceeded: undefined },
        error: "SpyCloudError QuotaExceeded",
        savedThrough: "2026-08-12",
        message: "SpyCloud answered 429 (LimitExceededException) to GET " +
          "breach/data/watchlist?since=2026-08-13&until=2026-08-13. The API key's monthly " +
          "request quota is used up; it is not retried. The import resumes where it stopped " +
          "once the quota renews or SpyCloud raises it.",
        requests: (simulator) => expect(simulator.counters().statuses).toEqual({ "429": 1 })
      }))

    it.scopedLive("a day too broad even one severity at a time, named", () =>
      failsThenResumes({
        afterSaves: 2,
        fault: { tooBroadAbove: 5 },
        over: { tooBroadAbove: undefined },
        error: "WindowTooBroad",
        savedThrough: "2026-08-12",
        message: "SpyCloud answered 504 for 2026-08-13 even for severity 2 alone; narrow the " +
          "watchlist or the severity filter, or try again later.",
        requests: (simulator) => expect(simulator.counters().statuses).toEqual({ "504": 12 })
      }))
  })

  describe("a failure on a later page of a window", () => {
    /** Switches `faults` on once the first page of the window `since` is imported. */
    const afterFirstPageOf = (since: string, faults: Partial<Faults>) =>
      Effect.gen(function*() {
        const simulator = yield* withSimulator({})
        const connector = yield* memoryConnector
        let done = false
        connector.onLine((line) => {
          if (
            !done && line.message === "Imported a page of breach records" &&
            line.attributes?.["since"] === since
          ) {
            done = true
            simulator.setFaults(faults)
          }
        })
        return { simulator, connector, api: simulatorApi(simulator) }
      })

    it.scopedLive("the monthly quota fails the run with its reason", () =>
      Effect.gen(function*() {
        const { api, connector, simulator } = yield* afterFirstPageOf("2026-08-13", {
          quotaExceeded: {}
        })

        const failed = yield* connector.run(api)

        expect(failureOf(failed.exit)).toMatchObject({
          _tag: "SpyCloudError",
          reason: "QuotaExceeded"
        })
        expect(yield* connector.state).toEqual(stateThrough("2026-08-12"))
        expect(connector.violations).toEqual([])

        simulator.setFaults({ quotaExceeded: undefined })
        expect(Exit.isSuccess((yield* connector.run(api)).exit)).toBe(true)
        expectSameAsReference(yield* connector.delivered, yield* connector.state)
      }))

    it.scopedLive("a 504 that persists splits the day by severity", () =>
      Effect.gen(function*() {
        // From the second page of 2026-08-16 on, SpyCloud finds a query of more than 300 records
        // too broad: that day (347) and the next (306) are imported one severity at a time.
        const { api, connector } = yield* afterFirstPageOf("2026-08-16", { tooBroadAbove: 300 })

        const { failures, logs } = yield* connector.runUntilComplete(api, 1)

        expect(failures).toEqual([])
        expect(
          logs
            .filter((line) => line.message.startsWith("SpyCloud keeps timing out on a single day"))
            .map((line) => line.attributes?.["day"])
        ).toEqual(["2026-08-16", "2026-08-17"])
        expect(connector.violations).toEqual([])
        expectSameAsReference(yield* connector.delivered, yield* connector.state)
      }))
  })

  it.scopedLive("retries a 403 for the IP address that lasts less than the retries", () =>
    Effect.gen(function*() {
      const simulator = yield* withSimulator({ ipNotAllowed: { requests: 2 } })
      const connector = yield* memoryConnector

      const { failures, logs } = yield* connector.runUntilComplete(simulatorApi(simulator), 1)

      expect(failures).toEqual([])
      expect(retriesByReason(logs)).toEqual({ IpNotAllowed: 2 })
      expectSameAsReference(yield* connector.delivered, yield* connector.state)
    }))

  it.scopedLive("names a rejected API key and what to do, without the key", () =>
    Effect.gen(function*() {
      const simulator = yield* withSimulator({})
      const connector = yield* memoryConnector
      const wrongKey = "sk-WRONG-0a1b2c3d4e5f"
      const wrong = SpyCloudHttp.layerWith({
        baseUrl: simulator.baseUrl,
        apiKey: Redacted.make(wrongKey),
        requestTimeout: "5 seconds",
        retry: fastRetry
      }).pipe(Layer.provide(NodeHttpClient.layerUndici))

      const failed = yield* connector.run(wrong)
      const error = failureOf(failed.exit)

      expect(error.message).toBe(
        "SpyCloud answered 403 (SpyCloud-Error: Invalid API key) to GET " +
          "breach/data/watchlist?since=2026-08-11&until=2026-08-19, and kept failing when " +
          "retried. SpyCloud rejected the API key: check SPYCLOUD_API_KEY and that the key is " +
          "active."
      )
      expect(simulator.counters().statuses).toEqual({ "403": 4 })
      expect(JSON.stringify(failed.logs)).not.toContain(wrongKey)
      expect(yield* connector.state).toEqual({ version: 1, types: {} })

      const resumed = yield* connector.run(simulatorApi(simulator))
      expect(Exit.isSuccess(resumed.exit)).toBe(true)
      expectSameAsReference(yield* connector.delivered, yield* connector.state)
    }))
})

describeWithRabbit("Faults through the real broker", () => {
  it.scopedLive("every fault: re-runs until one completes deliver what a clean run does", () =>
    Effect.gen(function*() {
      const simulator = yield* withSimulator({
        seed: 21,
        throttleRate: 0.05,
        retryAfterSeconds: 1,
        serverErrorRate: 0.05,
        gatewayTimeoutRate: 0.05,
        resetRate: 0.08,
        truncateRate: 0.08,
        delayRate: 0.05,
        delayMillis: 1_200,
        tooBroadAbove: 1_000
      })
      // Besides the transient faults, a 403 for the IP address starts after a run's third saved
      // window, then the monthly quota after a later run's first; each is over before the next
      // run. A run that transient faults stop earlier meets the same one again.
      const designed = [
        { afterSaves: 3, faults: { ipNotAllowed: {} }, reason: "IpNotAllowed" },
        { afterSaves: 1, faults: { quotaExceeded: {} }, reason: "QuotaExceeded" }
      ]
      let next = 0
      let saves = 0
      let lastSaved: unknown = undefined
      const logs = yield* captureLogs("debug", (line) => {
        if (line.message !== "Saved the connector state") return
        saves += 1
        lastSaved = line.attributes?.["completed_through"]
        if (saves === designed[next]?.afterSaves) simulator.setFaults(designed[next]!.faults)
      })
      const fake = yield* fakeOpenCti()
      const connectorId = randomUUID()
      const settings = yield* scenarioSettings({
        opencti: { url: fake.url, token: fake.token },
        connector: { id: connectorId }
      })
      const connector = yield* platformConnector(
        settings,
        simulatorApi(simulator, { requestTimeout: "400 millis" })
      )

      let delivered = emptyDelivery
      const failures: Array<string> = []
      for (let run = 0; run < 10; run++) {
        saves = 0
        const exit = yield* connector.run
        simulator.setFaults({ ipNotAllowed: undefined, quotaExceeded: undefined })
        const messages = yield* Effect.promise(() => consumeAll(pushQueue(connectorId)))
        delivered = deliveryOfMessages(messages, delivered)
        const state = platformState(fake.connector(connectorId)?.state)
        expect(state.types["all"]?.completedThrough).toBe(lastSaved)
        expect(undeliveredThroughState(reference, state, delivered)).toEqual([])
        if (Exit.isSuccess(exit)) break
        const failure = failureOf(exit)
        const reason = "reason" in failure ? failure.reason : failure._tag
        failures.push(reason)
        if (reason === designed[next]?.reason) next += 1
      }

      expect(failures.filter((reason) => reason === "IpNotAllowed" || reason === "QuotaExceeded"))
        .toEqual(["IpNotAllowed", "QuotaExceeded"])
      expect(failures.filter((reason) => !transientReasons.has(reason)).length).toBe(2)
      const counters = simulator.counters()
      expect({
        throttled: counters.statuses["429"] ?? 0,
        serverErrors: counters.statuses["500"] ?? 0,
        gatewayTimeouts: counters.statuses["504"] ?? 0,
        resets: counters.resets,
        truncations: counters.truncations,
        timeouts: retriesByReason(logs)["Timeout"] ?? 0
      }).toSatisfy((met: Record<string, number>) => Object.values(met).every((n) => n > 0))
      expectSameAsReference(delivered, platformState(fake.connector(connectorId)?.state))
      expect(fake.works().map((work) => [work.processed, work.errors.length])).toEqual([
        ...failures.map(() => [true, 1]),
        [true, 0]
      ])
    }))
})

const transientReasons: ReadonlySet<string> = new Set([
  "RateLimited",
  "ServerError",
  "Timeout",
  "BadResponse"
])
