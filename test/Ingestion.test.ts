import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream, TestClock } from "effect"
import * as ConnectorConfig from "../src/ConnectorConfig.js"
import * as Converter from "../src/Converter.js"
import * as Ingestion from "../src/Ingestion.js"
import { OpenCtiClient } from "../src/OpenCtiClient.js"
import * as OpenCtiMemory from "../src/OpenCtiClient/Memory.js"
import * as Runner from "../src/Runner.js"
import type { WatchlistQuery } from "../src/SpyCloudApi.js"
import { SpyCloudApi, SpyCloudError } from "../src/SpyCloudApi.js"
import * as SpyCloudMemory from "../src/SpyCloudApi/Memory.js"
import * as StateStore from "../src/StateStore.js"
import * as PlatformState from "../src/StateStore/Platform.js"

const today = "2026-08-20"

/** Three records a day from 2026-08-10 through today, each with its own email. */
const records = Array.from(
  { length: 11 },
  (_, day) => `2026-08-${String(10 + day).padStart(2, "0")}`
)
  .flatMap((day) =>
    [0, 1, 2].map((n) => ({
      email: `user${n}.${day}@example.com`,
      source_id: 90001,
      spycloud_publish_date: `${day}T00:00:00Z`,
      severity: 20,
      document_id: `${day.replaceAll("-", "")}-0000-4000-8000-00000000000${n}`
    }))
  )

/** Settings read on the test's day: a start date after the clock's day is refused. */
const settingsLayer = (spycloud: Record<string, string | number> = {}) =>
  Layer.unwrapEffect(
    TestClock.setTime(Date.parse(`${today}T12:00:00Z`)).pipe(
      Effect.as(
        ConnectorConfig.layerFromObject({
          spycloud: { import_start_date: "2026-08-10", window_max_records: 10, ...spycloud }
        }, { offline: true })
      )
    )
  )

/** Every SpyCloud query the run made, with what it asked. */
const recordingApi = (
  inner: ReturnType<typeof SpyCloudMemory.make>,
  queries: Array<WatchlistQuery>,
  fail: (query: WatchlistQuery) => boolean = () => false,
  error = new SpyCloudError({ reason: "ServerError", status: 504, message: "Gateway timeout" })
) =>
  Layer.succeed(SpyCloudApi, {
    ...inner,
    breachPages: (query) => {
      queries.push(query)
      return fail(query) ? Stream.fail(error) : inner.breachPages(query)
    }
  })

const incidentDays = (bundles: ReadonlyArray<{ readonly objects: ReadonlyArray<unknown> }>) =>
  bundles.flatMap((bundle) =>
    bundle.objects
      .filter((object) => (object as { type: string }).type === "incident")
      .map((object) => (object as { created: string }).created.slice(0, 10))
  )

const runWith = (
  api: Layer.Layer<SpyCloudApi>,
  state: Layer.Layer<StateStore.StateStore>,
  config = settingsLayer()
) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(Date.parse(`${today}T12:00:00Z`))
    const summary = yield* Runner.runOnce()
    const sink = yield* OpenCtiMemory.InMemorySink
    const store = yield* StateStore.StateStore
    return {
      summary,
      bundles: yield* sink.bundles,
      state: yield* store.get,
      works: yield* sink.works
    }
  }).pipe(
    Effect.provide(
      Layer.mergeAll(api, Converter.layerConfig, OpenCtiMemory.layer, state).pipe(
        Layer.provideMerge(config)
      )
    )
  )

describe("Ingestion", () => {
  it.effect("imports day windows oldest first, splitting until each holds the bound", () =>
    Effect.gen(function*() {
      const queries: Array<WatchlistQuery> = []
      const api = recordingApi(SpyCloudMemory.make(records), queries)
      const result = yield* runWith(api, StateStore.layerMemory())

      assert.deepStrictEqual(
        queries.map((query) => `${query.since}..${query.until}`),
        [
          "2026-08-10..2026-08-20",
          "2026-08-10..2026-08-15",
          "2026-08-10..2026-08-12",
          "2026-08-13..2026-08-15",
          "2026-08-16..2026-08-20",
          "2026-08-16..2026-08-18",
          "2026-08-19..2026-08-20"
        ]
      )
      assert.strictEqual(result.summary.records, 33)
      assert.strictEqual(result.summary.incidents, 33)
      assert.strictEqual(result.summary.windows, 4)
      assert.strictEqual(result.bundles.length, 4)
      assert.deepStrictEqual(
        result.bundles.map((bundle) => [...new Set(incidentDays([bundle]))]),
        [
          ["2026-08-12", "2026-08-11", "2026-08-10"],
          ["2026-08-15", "2026-08-14", "2026-08-13"],
          ["2026-08-18", "2026-08-17", "2026-08-16"],
          ["2026-08-20", "2026-08-19"]
        ]
      )
      assert.deepStrictEqual(result.state, {
        version: 1,
        types: { all: { completedThrough: "2026-08-19" } }
      })
      assert.deepStrictEqual(
        result.works.map((work) => [work.status, work.inError, work.bundles]),
        [["complete", false, 4]]
      )
      assert.strictEqual(
        result.works[0]!.message,
        "SpyCloud connector successfully run: 33 records, 99 objects in 4 bundles, " +
          "0 records skipped, 4 windows"
      )
    }))

  it.effect("starts the next run from the last completed day and never moves back", () =>
    Effect.gen(function*() {
      const queries: Array<WatchlistQuery> = []
      const api = recordingApi(SpyCloudMemory.make(records), queries)
      const result = yield* runWith(
        api,
        StateStore.layerMemory({ version: 1, types: { all: { completedThrough: "2026-08-19" } } })
      )
      assert.deepStrictEqual(queries.map((query) => `${query.since}..${query.until}`), [
        "2026-08-19..2026-08-20"
      ])
      assert.strictEqual(result.summary.records, 6)
      assert.deepStrictEqual(result.state, {
        version: 1,
        types: { all: { completedThrough: "2026-08-19" } }
      })
    }))

  it.effect("keeps one state per watchlist type and re-sends every filter", () =>
    Effect.gen(function*() {
      const queries: Array<WatchlistQuery> = []
      const api = recordingApi(SpyCloudMemory.make(records), queries)
      const result = yield* runWith(
        api,
        StateStore.layerMemory(),
        settingsLayer({
          watchlist_types: "email,ip",
          severity_levels: "20,25",
          window_max_records: 1000
        })
      )
      assert.deepStrictEqual(queries, [
        { since: "2026-08-10", until: "2026-08-20", watchlistType: "email", severities: [20, 25] },
        { since: "2026-08-10", until: "2026-08-20", watchlistType: "ip", severities: [20, 25] }
      ])
      assert.deepStrictEqual(result.state, {
        version: 1,
        types: {
          email: { completedThrough: "2026-08-19" },
          ip: { completedThrough: "2026-08-19" }
        }
      })
    }))

  it.effect("splits a window SpyCloud keeps answering 504 for, and a single day by severity", () =>
    Effect.gen(function*() {
      const queries: Array<WatchlistQuery> = []
      const api = recordingApi(
        SpyCloudMemory.make(records),
        queries,
        (query) =>
          (query.since !== query.until) ||
          (query.since === "2026-08-12" && query.severities.length !== 1)
      )
      const result = yield* runWith(
        api,
        StateStore.layerMemory(),
        settingsLayer({ window_max_records: 1000 })
      )
      assert.strictEqual(result.summary.records, 33)
      assert.deepStrictEqual(
        queries.filter((query) => query.since === "2026-08-12").map((query) => query.severities),
        [[], [2], [5], [20], [25], [26], [30]]
      )
      assert.deepStrictEqual(result.state, {
        version: 1,
        types: { all: { completedThrough: "2026-08-19" } }
      })
    }))

  it.effect("fails naming the day when even one severity at a time answers 504", () =>
    Effect.gen(function*() {
      const queries: Array<WatchlistQuery> = []
      const api = recordingApi(
        SpyCloudMemory.make(records),
        queries,
        (query) => query.since <= "2026-08-11" && query.until >= "2026-08-11"
      )
      const error = yield* Effect.flip(
        runWith(api, StateStore.layerMemory(), settingsLayer({ window_max_records: 1000 }))
      )
      assert.strictEqual(error._tag, "WindowTooBroad")
      assert.strictEqual(
        error.message,
        "SpyCloud answered 504 for 2026-08-11 even for severity 2 alone; narrow the watchlist " +
          "or the severity filter, or try again later."
      )
    }))

  it.effect("saves the completed windows of a failed run and closes its work in error", () =>
    Effect.gen(function*() {
      const queries: Array<WatchlistQuery> = []
      const api = recordingApi(
        SpyCloudMemory.make(records),
        queries,
        (query) => query.since === "2026-08-16",
        new SpyCloudError({
          reason: "QuotaExceeded",
          status: 429,
          message: "The monthly SpyCloud quota is used up."
        })
      )
      const summary = yield* Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse(`${today}T12:00:00Z`))
        const exit = yield* Effect.exit(Runner.runOnce())
        const store = yield* StateStore.StateStore
        const sink = yield* OpenCtiMemory.InMemorySink
        return { exit, state: yield* store.get, works: yield* sink.works }
      }).pipe(
        Effect.provide(
          Layer.mergeAll(api, Converter.layerConfig, OpenCtiMemory.layer, StateStore.layerMemory())
            .pipe(
              Layer.provideMerge(settingsLayer())
            )
        )
      )
      assert.strictEqual(summary.exit._tag, "Failure")
      assert.deepStrictEqual(summary.state, {
        version: 1,
        types: { all: { completedThrough: "2026-08-15" } }
      })
      assert.deepStrictEqual(summary.works.map((work) => [work.status, work.inError]), [[
        "complete",
        true
      ]])
      assert.strictEqual(
        summary.works[0]!.message,
        "Run failed: The monthly SpyCloud quota is used up."
      )
    }))

  it.effect("stops at the next window boundary after a reset and starts over next run", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse(`${today}T12:00:00Z`))
      const { client, platform } = yield* OpenCtiMemory.make({
        state: "{\"version\":1,\"types\":{\"all\":{\"completedThrough\":\"2026-08-11\"}}}"
      })
      const queries: Array<WatchlistQuery> = []
      const inner = SpyCloudMemory.make(records)
      const api = Layer.succeed(SpyCloudApi, {
        ...inner,
        breachPages: (query) => {
          queries.push(query)
          const pages = inner.breachPages(query)
          return query.since === "2026-08-14" && queries.length < 10
            ? Stream.concat(Stream.execute(platform.resetState), pages)
            : pages
        }
      })
      const layers = Layer.mergeAll(api, Converter.layerConfig, PlatformState.layer).pipe(
        Layer.provideMerge(Layer.succeed(OpenCtiClient, client)),
        Layer.provideMerge(settingsLayer({ window_max_records: 6 }))
      )
      const run = Effect.scoped(
        Effect.flatMap(Layer.build(layers), (context) => Effect.provide(Runner.runOnce(), context))
      )

      const first = yield* run
      assert.deepStrictEqual(queries.map((query) => `${query.since}..${query.until}`), [
        "2026-08-11..2026-08-20",
        "2026-08-11..2026-08-15",
        "2026-08-11..2026-08-13",
        "2026-08-11..2026-08-12",
        "2026-08-13..2026-08-13",
        "2026-08-14..2026-08-15"
      ])
      assert.strictEqual(first.records, 15)
      assert.strictEqual(yield* platform.state, undefined)
      const works = yield* platform.works
      assert.deepStrictEqual(works.map((work) => [work.status, work.inError]), [[
        "complete",
        false
      ]])

      queries.length = 0
      yield* run
      assert.strictEqual(`${queries[0]!.since}..${queries[0]!.until}`, "2026-08-10..2026-08-20")
      assert.strictEqual(
        yield* platform.state,
        "{\"version\":1,\"types\":{\"all\":{\"completedThrough\":\"2026-08-19\"}}}"
      )
    }))

  it.effect("turns each page into one self-contained bundle for library use", () =>
    Effect.gen(function*() {
      const pages = yield* Stream.runCollect(
        Ingestion.breachBundles({
          since: "2026-08-19",
          until: "2026-08-20",
          watchlistType: undefined,
          severities: []
        })
      ).pipe(
        Effect.provide(
          Layer.merge(
            SpyCloudMemory.layer(records, {}, 4),
            Converter.layer({ connectorName: "SpyCloud", tlpLevel: "green", includeSecrets: false })
          )
        )
      )
      assert.deepStrictEqual(
        [...pages].map((page) => [page.records, page.rejected, page.bundle?.objects.length]),
        [[4, 0, 14], [2, 0, 8]]
      )
      for (const page of pages) {
        const ids = new Set(page.bundle!.objects.map((object) => object.id))
        for (const object of page.bundle!.objects) {
          for (const [key, value] of Object.entries(object)) {
            const refs = key.endsWith("_refs")
              ? value as Array<string>
              : key.endsWith("_ref")
              ? [value as string]
              : []
            for (const ref of refs) assert.isTrue(ids.has(ref), `${object.id} ${key} → ${ref}`)
          }
        }
      }
    }))
})
