import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Layer, Redacted, Stream } from "effect"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { decodeBreachRecord } from "../src/BreachRecord.js"
import * as Converter from "../src/Converter.js"
import { bundlePage } from "../src/Ingestion.js"
import * as OpenCtiMemory from "../src/OpenCtiClient/Memory.js"
import { runOnce } from "../src/Runner.js"
import type { BreachPage, WatchlistQuery } from "../src/SpyCloudApi.js"
import { SpyCloudApi } from "../src/SpyCloudApi.js"
import * as SpyCloudHttp from "../src/SpyCloudApi/Http.js"
import type { StixObject } from "../src/Stix.js"
import {
  captureLogs,
  checkedStateStore,
  clockAt,
  failureOf,
  fastRetry,
  runLayers,
  scenarioSettings
} from "./support/importHarness.js"
import { validateBundle, validateStixObject } from "./support/stixSchemas.js"

// ---------------------------------------------------------------------------------------------
// The case files

interface RecordCase {
  readonly name: string
  readonly raw?: unknown
  readonly fields?: Record<string, unknown>
  readonly expect: Skipped | Imported
}

interface Skipped {
  readonly skipped: string
  readonly documentId: string | null
}

interface Imported {
  readonly incident: string
  readonly severity: string | null
  readonly observables: ReadonlyArray<string>
  readonly dropped: ReadonlyArray<string>
  readonly warnings: ReadonlyArray<string>
  readonly created?: string
  readonly modified?: string
  readonly source?: string | null
  readonly descriptionRows?: ReadonlyArray<readonly [string, string]>
  readonly properties?: Readonly<Record<string, Readonly<Record<string, string | null>>>>
}

interface PageCase {
  readonly name: string
  readonly start: string
  readonly expect: {
    readonly pages: ReadonlyArray<{
      readonly hits: number
      readonly records: ReadonlyArray<string>
      readonly rejected: ReadonlyArray<
        { readonly documentId: string | null; readonly reason: string }
      >
    }>
    readonly error?: { readonly reason: string; readonly message: string }
    readonly requests: number
    readonly incidents?: number
  }
}

const corpus = (name: string) => new URL(`corpus/${name}`, import.meta.url)

/**
 * The JSON text of a case file value with its generated values (`$repeat`, `$nest`, `$concat`)
 * written out. Text, not objects: `JSON.stringify` cannot write what `$nest` makes.
 */
const jsonText = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(jsonText).join(",")}]`
  if (typeof value !== "object" || value === null) return JSON.stringify(value)
  const spec = value as Record<string, unknown>
  if ("$repeat" in spec || "$concat" in spec) return JSON.stringify(generatedText(spec))
  if ("$nest" in spec) {
    const depth = Number(spec["$nest"])
    const [open, close] = spec["as"] === "array" ? ["[", "]"] : ["{\"nested\":", "}"]
    return `${open.repeat(depth)}${jsonText(spec["leaf"])}${close.repeat(depth)}`
  }
  return `{${
    Object.entries(spec).map(([key, item]) => `${JSON.stringify(key)}:${jsonText(item)}`).join(",")
  }}`
}

const generatedText = (value: unknown): string => {
  if (typeof value === "string") return value
  const spec = value as Record<string, unknown>
  if ("$concat" in spec) {
    return (spec["$concat"] as ReadonlyArray<unknown>).map(generatedText).join("")
  }
  return `${spec["before"] ?? ""}${String(spec["$repeat"]).repeat(Number(spec["times"]))}${
    spec["then"] ?? ""
  }`
}

const recordCases = (
  JSON.parse(readFileSync(corpus("records.json"), "utf8")) as {
    readonly cases: ReadonlyArray<RecordCase>
  }
).cases.map((entry) => {
  const text = jsonText("fields" in entry ? entry.fields : entry.raw)
  return {
    name: entry.name,
    text,
    record: JSON.parse(text) as unknown,
    expect: JSON.parse(jsonText(entry.expect)) as Skipped | Imported
  }
})

const pageCases = (
  JSON.parse(readFileSync(corpus("pages.json"), "utf8")) as {
    readonly cases: ReadonlyArray<PageCase>
  }
).cases

// ---------------------------------------------------------------------------------------------
// What a conversion shows

const conversionSettings = {
  connectorName: "SpyCloud",
  tlpLevel: "amber",
  includeSecrets: false
} as const

const converter = Converter.make(conversionSettings)

const isObservable = (object: StixObject) =>
  object.type !== "incident" && object.type !== "relationship"

/** `type value`, with the property that names the observable. */
const label = (object: StixObject): string =>
  `${object.type} ${
    String(object["value"] ?? object["account_login"] ?? object["path"] ?? object["name"])
  }`

/** The `| field | value |` rows of a description, unescaped only of the table's frame. */
const descriptionRows = (description: string): ReadonlyArray<readonly [string, string]> =>
  description.split("\n").slice(2).map((row) => {
    const cells = row.slice(2, -2).split(/(?<!\\) \| /)
    return [cells[0]!, cells.slice(1).join(" | ")] as const
  })

const expectConversion = (record: unknown, expected: Imported) => {
  const decoded = decodeBreachRecord(record)
  if (Either.isLeft(decoded)) throw new Error(`skipped: ${decoded.left.reason}`)
  const conversion = converter.convert(decoded.right, undefined)
  const [incident, ...others] = conversion.objects
  const observables = others.filter(isObservable)
  const relationships = others.filter((object) => object.type === "relationship")
  const labels = new Map(observables.map((object) => [object.id, label(object)]))

  expect(incident!.type).toBe("incident")
  expect(incident!["name"]).toBe(expected.incident)
  expect(incident!["severity"] ?? null).toBe(expected.severity)
  expect(observables.map(label)).toEqual(expected.observables)
  expect(conversion.dropped.map(({ field, reason }) => `${field}: ${reason}`)).toEqual(
    expected.dropped
  )
  expect(conversion.warnings).toEqual(expected.warnings)
  expect(
    relationships.map((relationship) => [
      relationship["relationship_type"],
      labels.get(String(relationship["source_ref"])),
      relationship["target_ref"]
    ])
  ).toEqual(expected.observables.map((observable) => ["related-to", observable, incident!.id]))

  if (expected.created !== undefined) expect(incident!["created"]).toBe(expected.created)
  if (expected.modified !== undefined) expect(incident!["modified"]).toBe(expected.modified)
  if (expected.source !== undefined) expect(incident!["source"] ?? null).toBe(expected.source)
  const rows = descriptionRows(String(incident!["description"]))
  for (const row of expected.descriptionRows ?? []) expect(rows).toContainEqual(row)
  for (const [observable, properties] of Object.entries(expected.properties ?? {})) {
    const object = observables.find((candidate) => label(candidate) === observable)!
    for (const [property, value] of Object.entries(properties)) {
      const actual = object[property]
      expect(property.endsWith("_ref") ? labels.get(String(actual)) : actual ?? null).toBe(value)
    }
  }
  for (const object of conversion.objects) expect(validateStixObject(object)).toEqual([])
}

// ---------------------------------------------------------------------------------------------
// A SpyCloud that answers with the corpus' pages

/** Answers each watchlist request with `page(cursor)`, catalog requests with "unknown". */
const pageServer = (page: (cursor: string | null) => string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      let requests = 0
      const server = createServer((request, response) => {
        const url = new URL(request.url ?? "/", "http://127.0.0.1")
        if (url.pathname.includes("/breach/catalog/")) {
          response.writeHead(200, { "Content-Type": "application/json" })
          return response.end("{\"cursor\":\"\",\"hits\":0,\"results\":[]}")
        }
        requests += 1
        response.writeHead(200, { "Content-Type": "application/json" })
        response.end(page(url.searchParams.get("cursor")))
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      return {
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/enterprise-v2/`,
        requests: () => requests,
        close: () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
      }
    }),
    (server) => Effect.promise(() => server.close())
  )

const apiOf = (baseUrl: string) =>
  SpyCloudHttp.layerWith({
    baseUrl,
    apiKey: Redacted.make("corpus-key"),
    requestTimeout: "5 seconds",
    retry: fastRetry
  }).pipe(Layer.provide(NodeHttpClient.layerUndici))

const oneDay: WatchlistQuery = {
  since: "2026-08-18",
  until: "2026-08-18",
  watchlistType: undefined,
  severities: []
}

/** `start` for the first request, then the file a cursor names. */
const pageFiles = (start: string) => (cursor: string | null) =>
  readFileSync(corpus(`pages/${(cursor ?? start).replace(/[^\w.-]/g, "")}`), "utf8")

// ---------------------------------------------------------------------------------------------

describe("Corpus", () => {
  it("holds at least 60 malformed records and pages", () => {
    expect(recordCases.length + pageCases.length).toBeGreaterThanOrEqual(60)
  })

  describe("records", () => {
    for (const { expect: expected, name, record } of recordCases) {
      it(name, () => {
        if ("skipped" in expected) {
          expect(decodeBreachRecord(record)).toEqual(
            Either.left({ documentId: expected.documentId ?? undefined, reason: expected.skipped })
          )
        } else {
          expectConversion(record, expected)
        }
      })
    }
  })

  it.scopedLive(
    "one page of every record: the usable ones in one valid bundle, the rest counted",
    () =>
      Effect.gen(function*() {
        const body = `{"cursor":"","hits":${recordCases.length},"results":[${
          recordCases.map((entry) => entry.text).join(",")
        }]}`
        const server = yield* pageServer(() => body)
        const api = apiOf(server.baseUrl)
        const logs = yield* captureLogs("warning")

        const converted = yield* Effect.gen(function*() {
          const pages = yield* Stream.runCollect((yield* SpyCloudApi).breachPages(oneDay))
          expect(pages.length).toBe(1)
          return yield* bundlePage([...pages][0]!)
        }).pipe(
          Effect.provide(Layer.merge(api, Converter.layer(conversionSettings)))
        )

        const skipped = recordCases.filter(({ expect }) => "skipped" in expect)
        const imported = recordCases.flatMap(({ expect }) => "skipped" in expect ? [] : [expect])
        expect(converted.records).toBe(imported.length)
        expect(converted.rejected).toBe(skipped.length)
        expect(
          logs
            .filter((line) => line.message === "Skipped a breach record that cannot be decoded")
            .map((line) => [line.attributes?.["document_id"], line.attributes?.["reason"]])
        ).toEqual(
          skipped.map(({ expect }) => {
            const { documentId, skipped: reason } = expect as Skipped
            return [documentId, reason]
          })
        )
        expect(converted.droppedValues).toBe(
          imported.reduce((total, expected) => total + expected.dropped.length, 0)
        )
        expect(validateBundle(converted.bundle)).toEqual([])
        expect(
          converted.bundle!.objects.filter((object) => object.type === "incident").map((object) =>
            object["name"]
          )
        ).toEqual(imported.map((expected) => expected.incident))
      }),
    { timeout: 60_000 }
  )

  describe("pages", () => {
    for (const { expect: expected, name, start } of pageCases) {
      it.scopedLive(name, () =>
        Effect.gen(function*() {
          const server = yield* pageServer(pageFiles(start))
          const logs = yield* captureLogs("warning")
          const pages: Array<BreachPage> = []
          const outcome = yield* Effect.flatMap(SpyCloudApi, (api) =>
            Stream.runForEach(api.breachPages(oneDay), (page) =>
              Effect.sync(() =>
                pages.push(page)
              ))).pipe(Effect.provide(apiOf(server.baseUrl)), Effect.either)

          expect(
            pages.map((page) => ({
              hits: page.hits,
              records: page.records.map((record) => record.documentId),
              rejected: page.rejected.map((rejected) => ({
                documentId: rejected.documentId ?? null,
                reason: rejected.reason
              }))
            }))
          ).toEqual(expected.pages)
          expect(
            Either.match(outcome, {
              onLeft: (error) => ({ reason: error.reason, message: error.message }),
              onRight: () => undefined
            })
          ).toEqual(expected.error)
          expect(server.requests()).toBe(expected.requests)
          expect(logs.filter((line) => line.message.includes("; retrying in ")).length).toBe(
            expected.error === undefined ? 0 : 5
          )

          if (expected.incidents !== undefined) {
            const incidents = new Set<string>()
            for (const page of pages) {
              const converted = yield* bundlePage(page).pipe(
                Effect.provide(
                  Layer.merge(apiOf(server.baseUrl), Converter.layer(conversionSettings))
                )
              )
              for (const object of converted.bundle?.objects ?? []) {
                if (object.type === "incident") incidents.add(object.id)
              }
            }
            expect(incidents.size).toBe(expected.incidents)
          }
        }))
    }
  })

  it.scopedLive("a page that is not JSON fails the window after retries; the pages before stay", () =>
    Effect.gen(function*() {
      yield* captureLogs("info")
      // Page 1 is good and points at page 2, an HTML error page until SpyCloud recovers.
      let recovered = false
      const server = yield* pageServer((cursor) =>
        JSON.stringify(
          cursor === null
            ? { cursor: "page-2", hits: 4, results: [corpusRecord(0x30), corpusRecord(0x31)] }
            : recovered
            ? { cursor: "", hits: 4, results: [corpusRecord(0x32), corpusRecord(0x33)] }
            : undefined
        ) ?? "<html><body>Bad Gateway</body></html>"
      )
      const settings = yield* scenarioSettings({
        spycloud: { import_start_date: "2026-08-18", window_max_records: 1_000 }
      })
      const { client, platform } = yield* OpenCtiMemory.make()
      const store = yield* checkedStateStore({ check: () => Effect.void })
      const run = Effect.exit(
        runOnce().pipe(
          Effect.provide(runLayers(settings, apiOf(server.baseUrl), client, store.layer)),
          Effect.withClock(clockAt("2026-08-19"))
        )
      )
      const incidents = Effect.map(
        platform.bundles,
        (bundles) =>
          bundles.flatMap((bundle) =>
            bundle.objects.filter((object) => object.type === "incident").map((object) =>
              String(object["name"]).slice(-9, -1)
            )
          )
      )

      const failed = failureOf(yield* run)
      expect(failed).toMatchObject({ _tag: "SpyCloudError", reason: "BadResponse" })
      expect(failed.message).toBe(
        "SpyCloud's answer to GET breach/data/watchlist?since=2026-08-18&until=2026-08-19 is not " +
          "complete JSON (37 characters), and kept failing when retried. Check the network path " +
          "to SpyCloud (proxies, TLS inspection); the next run resumes where this one stopped."
      )
      expect(server.requests()).toBe(7)
      expect(yield* incidents).toEqual(["d0000030", "d0000031"])
      expect(yield* store.state).toEqual({ version: 1, types: {} })

      recovered = true
      expect(Exit.isSuccess(yield* run)).toBe(true)
      expect(new Set(yield* incidents)).toEqual(
        new Set(["d0000030", "d0000031", "d0000032", "d0000033"])
      )
      expect(yield* store.state).toEqual({
        version: 1,
        types: { all: { completedThrough: "2026-08-18" } }
      })
    }))
})

const corpusRecord = (n: number) => {
  const hex = n.toString(16).padStart(2, "0")
  return {
    document_id: `d00000${hex}-0000-4000-8000-0000000000${hex}`,
    spycloud_publish_date: "2026-08-18T00:00:00Z",
    severity: 20,
    email: `user${n}@example.com`
  }
}
