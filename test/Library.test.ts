import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, TestClock } from "effect"
import { readFileSync } from "node:fs"
import {
  BreachRecord,
  ConnectorConfig,
  Converter,
  OpenCtiMemory,
  Runner,
  SpyCloudMemory,
  StateStore
} from "../src/index.js"
import { validateBundle } from "./support/stixSchemas.js"

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../shared/fixtures/${name}`, import.meta.url), "utf8"))

const page = fixture("watchlist-page.json") as { results: ReadonlyArray<Record<string, unknown>> }
const catalog = fixture("catalog-responses.json") as Record<string, unknown>

describe("the library surface", () => {
  it.effect("runs the whole import with the caller's own layers", () =>
    Effect.zipRight(
      TestClock.setTime(Date.parse("2026-08-20T08:00:00Z")),
      Effect.gen(function*() {
        const summary = yield* Runner.runOnce()
        const sink = yield* OpenCtiMemory.InMemorySink
        const store = yield* StateStore.StateStore
        const bundles = yield* sink.bundles

        const converter = Converter.make({
          connectorName: "Acme SpyCloud",
          tlpLevel: "red",
          includeSecrets: false
        })
        const expected = page.results.flatMap((raw) => {
          const record = Either.getOrThrow(BreachRecord.decodeBreachRecord(raw))
          const entry = BreachRecord.decodeCatalogEntry(
            (catalog[String(record.sourceId)] as { results: Array<unknown> }).results[0]
          )
          return converter.convert(record, entry).objects
        })

        assert.strictEqual(summary.records, 5)
        assert.strictEqual(bundles.length, 1)
        assert.deepStrictEqual(validateBundle(bundles[0]), [])
        assert.deepStrictEqual(bundles[0], converter.bundle(expected))
        assert.strictEqual(bundles[0]!.objects[0]!.name, "Acme SpyCloud")
        assert.strictEqual(
          bundles[0]!.objects[1]!.id,
          "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
        )
        assert.deepStrictEqual(yield* store.get, {
          version: 1,
          types: { all: { completedThrough: "2026-08-19" } }
        })
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            SpyCloudMemory.layer(page.results, catalog),
            Converter.layerConfig,
            OpenCtiMemory.layer,
            StateStore.layerMemory()
          ).pipe(
            Layer.provideMerge(
              ConnectorConfig.layerFromObject(
                {
                  connector: { name: "Acme SpyCloud" },
                  spycloud: { tlp_level: "red", import_start_date: "2026-08-01" }
                },
                { offline: true }
              )
            )
          )
        )
      )
    ))
})
