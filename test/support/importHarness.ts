/**
 * What the reliability tests share: a clock that says a fixed day, fast retry policies, settings
 * for the simulator, a reference (clean) import to compare against, and the two checks that prove
 * nothing is lost: what was delivered equals the reference, and no saved state is ahead of what
 * the platform acknowledged.
 */
import { NodeHttpClient } from "@effect/platform-node"
import type { Duration, Scope } from "effect"
import { Clock, Effect, Exit, Layer, Redacted, Ref, Schedule } from "effect"
import type { Settings } from "../../src/ConnectorConfig.js"
import * as ConnectorConfig from "../../src/ConnectorConfig.js"
import * as Converter from "../../src/Converter.js"
import type { ImportError } from "../../src/Ingestion.js"
import * as Logging from "../../src/Logging.js"
import type { OpenCtiClientShape } from "../../src/OpenCtiClient.js"
import { OpenCtiClient } from "../../src/OpenCtiClient.js"
import * as OpenCtiMemory from "../../src/OpenCtiClient/Memory.js"
import * as Platform from "../../src/OpenCtiClient/Platform.js"
import { runOnce } from "../../src/Runner.js"
import type { Simulator, SimulatorOptions } from "../../src/Simulator/Server.js"
import * as SimulatorServer from "../../src/Simulator/Server.js"
import type { SpyCloudApi } from "../../src/SpyCloudApi.js"
import type { RetryPolicies } from "../../src/SpyCloudApi/Http.js"
import * as SpyCloudHttp from "../../src/SpyCloudApi/Http.js"
import type { ConnectorState } from "../../src/StateStore.js"
import { completedThrough, emptyState, StateStore } from "../../src/StateStore.js"
import * as PlatformState from "../../src/StateStore/Platform.js"
import type { Bundle, StixObject } from "../../src/Stix.js"
import * as Window from "../../src/Window.js"
import type { LogLine } from "./connectorProcess.js"
import type { QueuedMessage } from "./rabbit.js"

/**
 * The real clock, moved so that the run starts at noon UTC of `day`: windows and "today" are then
 * the same on every machine, while sleeps, timeouts and elapsed times stay real.
 */
export const clockAt = (day: string): Clock.Clock => {
  const live = Clock.make()
  const offset = Date.parse(`${day}T12:00:00.000Z`) - Date.now()
  const millis = () => Date.now() + offset
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: millis,
    currentTimeMillis: Effect.sync(millis),
    unsafeCurrentTimeNanos: () => BigInt(millis()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(millis()) * 1_000_000n),
    sleep: (duration) => live.sleep(duration)
  }
}

/** Retries as the live policies do, by kind, with waits of milliseconds. */
export const fastRetry: RetryPolicies = {
  throttling: Schedule.exponential("2 millis").pipe(Schedule.intersect(Schedule.recurs(8))),
  transient: Schedule.exponential("2 millis").pipe(Schedule.intersect(Schedule.recurs(5))),
  forbidden: Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(3))),
  longestRetryAfter: "20 millis"
}

/**
 * A slow import for tests that stop a child connector part-way: 1,500 records over the 6 days
 * before today (real time: the child has no test clock), pages of 100, every answer 30 ms late.
 */
export const childScenario = (seed: number) => {
  const today = Window.dayOf(Date.now())
  return {
    today,
    importStartDate: Window.addDays(today, -6),
    simulatorOptions: {
      seed,
      records: 1_500,
      until: Window.addDays(today, -1),
      days: 6,
      pageSize: 100,
      faults: { delayMillis: 30, delayRate: 1 }
    } satisfies SimulatorOptions
  }
}

/** A small multi-window import: 2,000 records over the 8 days through 2026-08-18. */
export const scenario = {
  today: "2026-08-19",
  dataset: { seed: 7, records: 2_000, until: "2026-08-18", days: 8 },
  importStartDate: "2026-08-11",
  windowMaxRecords: 300,
  pageSize: 100
} as const

export const simulatorOptions = (faults: SimulatorOptions["faults"] = {}): SimulatorOptions => ({
  ...scenario.dataset,
  pageSize: scenario.pageSize,
  faults
})

/** Settings of a run-and-terminate connector that imports the scenario. */
export const scenarioSettings = (
  overrides: {
    readonly opencti?: { readonly url: string; readonly token: string }
    readonly connector?: ConnectorConfig.ConfigInput["connector"]
    readonly spycloud?: ConnectorConfig.ConfigInput["spycloud"]
    readonly mq?: ConnectorConfig.ConfigInput["mq"]
  } = {}
): Effect.Effect<Settings, ConnectorConfig.ConnectorConfigError> =>
  ConnectorConfig.fromObject({
    opencti: overrides.opencti ?? { url: "http://127.0.0.1:9", token: "opencti-token-unused" },
    connector: {
      id: "5a4c3d0e-1f2b-4c8d-9e7a-6b5c4d3e2f1a",
      name: "SpyCloud",
      run_and_terminate: true,
      ...overrides.connector
    },
    spycloud: {
      api_key: "spycloud-key-unused",
      import_start_date: scenario.importStartDate,
      window_max_records: scenario.windowMaxRecords,
      ...overrides.spycloud
    },
    ...(overrides.mq === undefined ? {} : { mq: overrides.mq })
  })

/** The SpyCloud API of a simulator over undici, with the given retry policies. */
export const simulatorApi = (
  simulator: Simulator,
  options: { readonly retry?: RetryPolicies; readonly requestTimeout?: Duration.DurationInput } = {}
): Layer.Layer<SpyCloudApi> =>
  SpyCloudHttp.layerWith({
    baseUrl: simulator.baseUrl,
    apiKey: Redacted.make(simulator.apiKey),
    requestTimeout: options.requestTimeout ?? "5 seconds",
    retry: options.retry ?? fastRetry
  }).pipe(Layer.provide(NodeHttpClient.layerUndici))

/**
 * A state store that outlives the runs given it, checking every save with `check` before it
 * takes it, and calling `afterSave` once it has.
 */
export const checkedStateStore = (options: {
  readonly check: (state: ConnectorState) => Effect.Effect<void>
  readonly afterSave?: (state: ConnectorState, saves: number) => void
}) =>
  Effect.gen(function*() {
    const state = yield* Ref.make(emptyState)
    const saves = yield* Ref.make<ReadonlyArray<ConnectorState>>([])
    const layer = Layer.succeed(StateStore, {
      get: Ref.get(state),
      set: (next) =>
        options.check(next).pipe(
          Effect.zipRight(Ref.set(state, next)),
          Effect.zipRight(Ref.updateAndGet(saves, (all) => [...all, next])),
          Effect.tap((all) => Effect.sync(() => options.afterSave?.(next, all.length)))
        ),
      resets: Effect.succeed(0)
    })
    return { layer, state: Ref.get(state), saves: Ref.get(saves) }
  })

/** The layers of one run-and-terminate run, the config included. */
export const runLayers = (
  settings: Settings,
  api: Layer.Layer<SpyCloudApi>,
  client: OpenCtiClientShape,
  store: Layer.Layer<StateStore>
) =>
  Layer.mergeAll(api, Converter.layerConfig, Layer.succeed(OpenCtiClient, client), store).pipe(
    Layer.provideMerge(Layer.succeed(ConnectorConfig.ConnectorConfig, settings))
  )

/** What reached the platform: every object id, and the day of every incident. */
export interface Delivery {
  readonly ids: ReadonlySet<string>
  /** Incident id → `YYYY-MM-DD` of its `created`. */
  readonly incidentDays: ReadonlyMap<string, string>
}

export const emptyDelivery: Delivery = { ids: new Set(), incidentDays: new Map() }

const deliveryOfObjects = (
  objects: Iterable<StixObject>,
  into: Delivery = emptyDelivery
): Delivery => {
  const ids = new Set(into.ids)
  const incidentDays = new Map(into.incidentDays)
  for (const object of objects) {
    ids.add(object.id)
    if (object.type === "incident") {
      incidentDays.set(object.id, String(object["created"]).slice(0, 10))
    }
  }
  return { ids, incidentDays }
}

export const deliveryOfBundles = (bundles: ReadonlyArray<Bundle>, into?: Delivery): Delivery =>
  deliveryOfObjects(bundles.flatMap((bundle) => bundle.objects), into)

export const deliveryOfMessages = (
  messages: ReadonlyArray<QueuedMessage>,
  into?: Delivery
): Delivery =>
  deliveryOfObjects(
    messages.flatMap((message) => message.piece.objects as ReadonlyArray<StixObject>),
    into
  )

/** A clean import: what must be delivered, and the state it ends with. */
export interface Reference extends Delivery {
  readonly state: ConnectorState
  /** The windows imported, `since..until`, in order. */
  readonly windows: ReadonlyArray<string>
  readonly records: number
}

/**
 * Imports through the simulator without faults into memory, once: the reference every faulty or
 * interrupted import must end up equal to.
 */
export const referenceImport = (
  options: {
    readonly simulator: SimulatorOptions
    readonly settings: Settings
    readonly today: string
  }
): Effect.Effect<Reference> =>
  Effect.scoped(
    Effect.gen(function*() {
      const logs = yield* captureLogs("info")
      const simulator = yield* SimulatorServer.start({ ...options.simulator, faults: {} })
      const { client, platform } = yield* OpenCtiMemory.make()
      const store = yield* checkedStateStore({ check: () => Effect.void })
      const summary = yield* runOnce().pipe(
        Effect.provide(runLayers(options.settings, simulatorApi(simulator), client, store.layer)),
        Effect.withClock(clockAt(options.today)),
        Effect.orDie
      )
      return {
        ...deliveryOfBundles(yield* platform.bundles),
        state: yield* store.state,
        windows: windowsOf(logs),
        records: summary.records
      }
    })
  )

/** The windows a run imported, `since..until`, from its log. */
export const windowsOf = (logs: ReadonlyArray<LogLine>): ReadonlyArray<string> =>
  logs
    .filter((line) => line.message === "Importing a window of breach records")
    .map((line) => `${line.attributes?.["since"]}..${line.attributes?.["until"]}`)

/**
 * The reference incidents dated up to the state's last completed day that were not delivered:
 * empty when the state is no further than what the platform acknowledged.
 */
export const undeliveredThroughState = (
  reference: Reference,
  state: ConnectorState,
  delivered: Delivery,
  key = "all"
): ReadonlyArray<string> => {
  const through = completedThrough(state, key)
  if (through === undefined) return []
  const missing: Array<string> = []
  for (const [id, day] of reference.incidentDays) {
    if (day <= through && !delivered.ids.has(id)) missing.push(`${day} ${id}`)
  }
  return missing.sort()
}

/** The ids of one set that the other lacks, both ways, for a readable failure. */
export const differences = (expected: ReadonlySet<string>, actual: ReadonlySet<string>) => ({
  missing: [...expected].filter((id) => !actual.has(id)).sort().slice(0, 20),
  unexpected: [...actual].filter((id) => !expected.has(id)).sort().slice(0, 20),
  missingCount: [...expected].filter((id) => !actual.has(id)).length,
  unexpectedCount: [...actual].filter((id) => !expected.has(id)).length
})

/**
 * From now until the scope closes, every log line of this fiber and of the fibers it forks is
 * parsed into the returned array instead of being written, at `level` and above.
 */
export const captureLogs = (
  level: Logging.Options["level"] = "debug",
  onLine?: (line: LogLine, lines: ReadonlyArray<LogLine>) => void
): Effect.Effect<Array<LogLine>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const lines: Array<LogLine> = []
    yield* Layer.build(
      Logging.layer({
        name: "SpyCloud",
        level,
        write: (text) => {
          const line = JSON.parse(text) as LogLine
          lines.push(line)
          onLine?.(line, lines)
        }
      })
    )
    return lines
  })

/** The error a run failed with; throws when it succeeded or died. */
export const failureOf = <A>(exit: Exit.Exit<A, ImportError>): ImportError => {
  if (Exit.isSuccess(exit)) throw new Error("the run was expected to fail")
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`the run did not fail cleanly: ${String(exit.cause)}`)
  return failure
}

/**
 * The connector as `run` assembles it, against a platform (the fake, often behind a proxy): it
 * registers and seeds its state from the platform when built, keeps its broker connection
 * between runs, and pings its state after every window.
 */
export const platformConnector = (
  settings: Settings,
  api: Layer.Layer<SpyCloudApi>,
  today: string = scenario.today
) =>
  Effect.gen(function*() {
    const layers = PlatformState.layer.pipe(
      Layer.provideMerge(
        Layer.mergeAll(
          api,
          Converter.layerConfig,
          Platform.layer.pipe(Layer.provide(NodeHttpClient.layerUndici))
        )
      ),
      Layer.provideMerge(Layer.succeed(ConnectorConfig.ConnectorConfig, settings))
    )
    const context = yield* Layer.build(layers)
    return {
      run: Effect.exit(
        runOnce().pipe(Effect.provide(context), Effect.withClock(clockAt(today)))
      )
    }
  })

/** The state the fake platform holds for a connector. */
export const platformState = (stored: string | null | undefined): ConnectorState =>
  stored === null || stored === undefined || stored === "" || stored === "null"
    ? emptyState
    : JSON.parse(stored)

/** The reference import of the in-process scenario, with the scenario's settings. */
export const scenarioReference = () =>
  Effect.flatMap(
    scenarioSettings(),
    (settings) =>
      referenceImport({ simulator: simulatorOptions(), settings, today: scenario.today })
  )
