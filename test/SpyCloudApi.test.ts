import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import type { HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import {
  Chunk,
  Duration,
  Effect,
  Either,
  Fiber,
  Layer,
  Logger,
  Option,
  Redacted,
  Schedule,
  Stream,
  TestClock
} from "effect"
import type { Settings } from "../src/ConnectorConfig.js"
import { ConnectorConfig } from "../src/ConnectorConfig.js"
import type { SimulatorOptions } from "../src/Simulator/Server.js"
import { start } from "../src/Simulator/Server.js"
import type { BreachPage, SpyCloudError, WatchlistQuery } from "../src/SpyCloudApi.js"
import { SpyCloudApi } from "../src/SpyCloudApi.js"
import type { RetryPolicies } from "../src/SpyCloudApi/Http.js"
import * as Http from "../src/SpyCloudApi/Http.js"
import * as Memory from "../src/SpyCloudApi/Memory.js"

const apiKey = "sk-test-5f3c9a1e7d"
const baseUrl = "https://api.example.com/enterprise-v2/"

/** No waiting: throttling 2 retries, transient 3, forbidden 1. */
const fast: Partial<RetryPolicies> = {
  throttling: Schedule.recurs(2),
  transient: Schedule.recurs(3),
  forbidden: Schedule.recurs(1)
}

const query: WatchlistQuery = {
  since: "2026-08-14",
  until: "2026-08-18",
  watchlistType: undefined,
  severities: []
}

type Reply = Response | "hang" | Error

/** An `HttpClient` answering from `reply`, recording every request it got. */
const stub = (reply: (url: URL, attempt: number) => Reply) => {
  const requests: Array<{ readonly url: URL; readonly headers: Record<string, string> }> = []
  const client = HttpClient.make((request: HttpClientRequest.HttpClientRequest, url: URL) => {
    requests.push({ url, headers: { ...request.headers } })
    const answer = reply(url, requests.length)
    if (answer === "hang") return Effect.never
    if (answer instanceof Error) {
      return Effect.fail(
        new HttpClientError.RequestError({ request, reason: "Transport", cause: answer })
      )
    }
    return Effect.succeed(HttpClientResponse.fromWeb(request, answer))
  })
  return { requests, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers }
  })

const makeApi = (
  layer: Layer.Layer<HttpClient.HttpClient>,
  options: Partial<Http.Options> = {}
) =>
  Http.make({
    baseUrl,
    apiKey: Redacted.make(apiKey),
    requestTimeout: "5 seconds",
    retry: fast,
    ...options
  }).pipe(Effect.provide(layer))

const failureOf = (
  reply: (url: URL, attempt: number) => Reply,
  options: Partial<Http.Options> = {}
) =>
  Effect.gen(function*() {
    const { layer, requests } = stub(reply)
    const api = yield* makeApi(layer, options)
    const result = yield* Effect.either(api.catalogEntry(91001))
    if (Either.isRight(result)) throw new Error("expected a SpyCloudError")
    return { error: result.left, attempts: requests.length }
  })

const collectPages = (pages: Stream.Stream<BreachPage, SpyCloudError>) =>
  Effect.map(Stream.runCollect(pages), Chunk.toReadonlyArray)

const withSimulator = <A, E>(
  options: SimulatorOptions,
  body: (
    simulator: Effect.Effect.Success<ReturnType<typeof start>>
  ) => Effect.Effect<A, E, HttpClient.HttpClient>
) =>
  Effect.scoped(Effect.flatMap(start(options), body)).pipe(
    Effect.provide(NodeHttpClient.layerUndici)
  )

const small: SimulatorOptions = { seed: 5, records: 2_500, until: "2026-08-18", days: 5 }

/** Log lines written while `self` runs. */
const captureLogs = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const logger = Logger.make(({ annotations, logLevel, message }) => {
      const text = Array.isArray(message) ? message.join(" ") : String(message)
      const sorted = Object.fromEntries([...annotations].sort(([a], [b]) => a.localeCompare(b)))
      lines.push(`${logLevel.label} ${text} ${JSON.stringify(sorted)}`)
    })
    const result = yield* self.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return { result, lines }
  })

describe("SpyCloudApi over HTTP", () => {
  it.live("joins paths to the base URL with or without its trailing slash, and sends the headers", () =>
    withSimulator(small, (simulator) =>
      Effect.gen(function*() {
        for (const base of [simulator.baseUrl, simulator.baseUrl.replace(/\/$/, "")]) {
          const api = yield* Http.make({
            baseUrl: base,
            apiKey: Redacted.make(simulator.apiKey),
            requestTimeout: "5 seconds"
          })
          const entry = yield* api.catalogEntry(91001)
          expect(Option.map(entry, (found) => found.id)).toStrictEqual(Option.some(91001))
        }
        const requests = simulator.counters().recentRequests
        expect(requests.map((request) => request.path)).toStrictEqual([
          "/enterprise-v2/breach/catalog/91001",
          "/enterprise-v2/breach/catalog/91001"
        ])
        expect(requests.every((request) => request.apiKeyMatched)).toBe(true)
        expect(requests.every((request) => request.headers.accept === "application/json")).toBe(
          true
        )
      })))

  it.live("reads every page of a query, re-sending each filter with the cursor", () =>
    withSimulator({ ...small, previousDayRate: 0 }, (simulator) =>
      Effect.gen(function*() {
        const api = yield* Http.make({
          baseUrl: simulator.baseUrl,
          apiKey: Redacted.make(simulator.apiKey),
          requestTimeout: "5 seconds"
        })
        const filtered: WatchlistQuery = {
          since: "2026-08-14",
          until: "2026-08-18",
          watchlistType: "domain",
          severities: [20, 25]
        }
        const pages = yield* collectPages(api.breachPages(filtered))
        const data = simulator.dataset
        const expected: Array<string> = []
        for (let index = 0; index < data.size; index++) {
          if (data.matches(index, { severities: [20, 25], watchlistType: "domain" })) {
            expected.push(data.recordAt(index).document_id as string)
          }
        }
        expect(expected.length).toBeGreaterThan(1000)
        expect(pages.map((page) => page.hits)).toStrictEqual(pages.map(() => expected.length))
        expect(pages.flatMap((page) => page.records.map((record) => record.documentId)))
          .toStrictEqual(expected)
        expect(pages.flatMap((page) => page.rejected)).toStrictEqual([])

        const queries = simulator.counters().recentRequests.map((request) => request.query)
        expect(queries.length).toBe(pages.length)
        for (const [position, sent] of queries.entries()) {
          const filters = sent.filter(([name]) => name !== "cursor")
          expect(filters).toStrictEqual([
            ["since", "2026-08-14"],
            ["until", "2026-08-18"],
            ["severity", "20,25"],
            ["watchlist_type", "domain"]
          ])
          expect(sent.some(([name]) => name === "cursor")).toBe(position > 0)
        }
      })))

  it.live("fetches one page per pull", () =>
    withSimulator(small, (simulator) =>
      Effect.gen(function*() {
        const api = yield* Http.make({
          baseUrl: simulator.baseUrl,
          apiKey: Redacted.make(simulator.apiKey),
          requestTimeout: "5 seconds"
        })
        const first = yield* collectPages(Stream.take(api.breachPages(query), 1))
        expect(first.map((page) => page.records.length)).toStrictEqual([1000])
        expect(simulator.counters().watchlist).toBe(1)
      })))

  it.live("delivers every record exactly once through resets, truncations and 5xx answers", () =>
    withSimulator(
      { ...small, faults: { seed: 4, resetRate: 0.2, truncateRate: 0.2, serverErrorRate: 0.2 } },
      (simulator) =>
        Effect.gen(function*() {
          const api = yield* Http.make({
            baseUrl: simulator.baseUrl,
            apiKey: Redacted.make(simulator.apiKey),
            requestTimeout: "5 seconds",
            retry: { transient: Schedule.recurs(20) }
          })
          const { result: pages } = yield* captureLogs(collectPages(api.breachPages(query)))
          const ids = pages.flatMap((page) => page.records.map((record) => record.documentId))
          const range = simulator.dataset.daysRange(query.since, query.until)
          expect(ids).toStrictEqual(
            Array.from(
              { length: range.end - range.start },
              (_, offset) => simulator.dataset.recordAt(range.start + offset).document_id
            )
          )
          const counters = simulator.counters()
          expect(counters.resets + counters.truncations + (counters.statuses["500"] ?? 0))
            .toBeGreaterThan(0)
        })
    ))

  it.live("turns a slow answer into a Timeout after the transient retries", () =>
    withSimulator(
      { ...small, faults: { delayMillis: 400 } },
      (simulator) =>
        Effect.gen(function*() {
          const api = yield* Http.make({
            baseUrl: simulator.baseUrl,
            apiKey: Redacted.make(simulator.apiKey),
            requestTimeout: "50 millis",
            retry: { transient: Schedule.recurs(1) }
          })
          const { lines, result: error } = yield* captureLogs(Effect.flip(api.catalogEntry(91001)))
          expect(lines).toStrictEqual([
            "WARN SpyCloud did not answer GET breach/catalog/91001 within 50 ms; retrying in 0 ms. " +
            "{\"reason\":\"Timeout\",\"service\":\"SpyCloudApi\",\"status\":\"none\"}"
          ])
          expect(error.reason).toBe("Timeout")
          expect(error.message).toBe(
            "SpyCloud did not answer GET breach/catalog/91001 within 50 ms, and kept failing when " +
              "retried. Raise SPYCLOUD_REQUEST_TIMEOUT if SpyCloud is slow, or check the network."
          )
          expect(simulator.counters().catalog).toStrictEqual({ "91001": 2 })
        })
    ))

  it.live("keeps status 504 for a query that is too broad", () =>
    withSimulator(
      { ...small, faults: { tooBroadAbove: 100 } },
      (simulator) =>
        Effect.gen(function*() {
          const api = yield* Http.make({
            baseUrl: simulator.baseUrl,
            apiKey: Redacted.make(simulator.apiKey),
            requestTimeout: "5 seconds",
            retry: fast
          })
          const { lines, result: error } = yield* captureLogs(
            Effect.flip(collectPages(api.breachPages(query)))
          )
          expect(lines.length).toBe(3)
          expect(error.reason).toBe("ServerError")
          expect(error.status).toBe(504)
          expect(error.message).toContain("narrow the day window")
          expect(simulator.counters().watchlist).toBe(4)
        })
    ))

  it.live("waits out an allow-list change: 403 for the IP, then answers", () =>
    withSimulator(
      { ...small, faults: { ipNotAllowed: { requests: 1 } } },
      (simulator) =>
        Effect.gen(function*() {
          const api = yield* Http.make({
            baseUrl: simulator.baseUrl,
            apiKey: Redacted.make(simulator.apiKey),
            requestTimeout: "5 seconds",
            retry: fast
          })
          const { lines, result } = yield* captureLogs(api.catalogEntry(91002))
          expect(Option.map(result, (entry) => entry.id)).toStrictEqual(Option.some(91002))
          expect(lines).toStrictEqual([
            "WARN SpyCloud answered 403 (SpyCloud-Error: IP address not allowed) to GET " +
            "breach/catalog/91002; retrying in 0 ms. " +
            "{\"reason\":\"IpNotAllowed\",\"service\":\"SpyCloudApi\",\"status\":403}"
          ])
        })
    ))

  it.live("asks once per catalog id, however many callers ask at the same time", () =>
    withSimulator({ ...small, faults: { delayMillis: 50 } }, (simulator) =>
      Effect.gen(function*() {
        const api = yield* Http.make({
          baseUrl: simulator.baseUrl,
          apiKey: Redacted.make(simulator.apiKey),
          requestTimeout: "5 seconds"
        })
        const ids = [91001, 91002, 91001, 5, 91001, 91002, 5, 91001]
        const entries = yield* Effect.forEach(ids, (id) => api.catalogEntry(id), {
          concurrency: "unbounded"
        })
        expect(entries.map(Option.map((entry) => entry.id))).toStrictEqual(
          ids.map((id) => (id === 5 ? Option.none() : Option.some(id)))
        )
        yield* api.catalogEntry(91001)
        expect(simulator.counters().catalog).toStrictEqual({ "91001": 1, "91002": 1, "5": 1 })
        const entry = Option.getOrThrow(entries[0]!)
        expect(entry.title).toBe(simulator.dataset.catalogEntry(91001)!.title)
        expect(entry.uuid).toBe(simulator.dataset.catalogEntry(91001)!.uuid)
      })))

  it.effect("does not remember a failed catalog look-up", () =>
    Effect.gen(function*() {
      const { layer, requests } = stub((_, attempt) =>
        attempt === 1
          ? json({ message: "Limit Exceeded" }, 429, {
            "x-amzn-ErrorType": "LimitExceededException"
          })
          : json({
            cursor: "",
            hits: 1,
            results: [{ id: 91001, title: "Example Forum Combolist" }]
          })
      )
      const api = yield* makeApi(layer)
      expect((yield* Effect.flip(api.catalogEntry(91001))).reason).toBe("QuotaExceeded")
      const entry = yield* api.catalogEntry(91001)
      expect(Option.map(entry, (found) => found.title)).toStrictEqual(
        Option.some("Example Forum Combolist")
      )
      yield* api.catalogEntry(91001)
      expect(requests.length).toBe(2)
    }))

  it.effect("passes good records and sets broken ones aside, never failing the page", () =>
    Effect.gen(function*() {
      const good = {
        document_id: "6f1d2c3b-0000-4000-8000-000000000001",
        spycloud_publish_date: "2026-08-18T00:00:00Z",
        severity: 20
      }
      const { layer } = stub(() =>
        json({
          cursor: "",
          hits: 4,
          results: [
            good,
            { spycloud_publish_date: "2026-08-18T00:00:00Z" },
            "not a record",
            { document_id: "0a9b8c7d-0000-4000-8000-000000000002", spycloud_publish_date: "soon" }
          ]
        })
      )
      const api = yield* makeApi(layer)
      const pages = yield* collectPages(api.breachPages(query))
      expect(pages.length).toBe(1)
      expect(pages[0]!.hits).toBe(4)
      expect(pages[0]!.records).toStrictEqual([
        {
          documentId: good.document_id,
          publishedAt: "2026-08-18T00:00:00.000Z",
          sourceId: undefined,
          severity: 20,
          fields: good
        }
      ])
      expect(pages[0]!.rejected.map((rejected) => rejected.documentId)).toStrictEqual([
        undefined,
        undefined,
        "0a9b8c7d-0000-4000-8000-000000000002"
      ])
    }))

  it.effect("maps each failure to its reason, retrying only what may pass", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<
        readonly [Reply, { reason: string; status: number | undefined; attempts: number }]
      > = [
        [json({ message: "Forbidden" }, 403, { "SpyCloud-Error": "Invalid API key" }), {
          reason: "Unauthorized",
          status: 403,
          attempts: 2
        }],
        [json({ message: "Forbidden" }, 403, { "SpyCloud-Error": "IP address not allowed" }), {
          reason: "IpNotAllowed",
          status: 403,
          attempts: 2
        }],
        [json({ message: "Missing Authentication Token" }, 403), {
          reason: "Unauthorized",
          status: 403,
          attempts: 1
        }],
        [json({}, 429, { "x-amzn-ErrorType": "TooManyRequestsException" }), {
          reason: "RateLimited",
          status: 429,
          attempts: 3
        }],
        [json({}, 429, { "x-amzn-ErrorType": "LimitExceededException" }), {
          reason: "QuotaExceeded",
          status: 429,
          attempts: 1
        }],
        [json({}, 500), { reason: "ServerError", status: 500, attempts: 4 }],
        [json({}, 502), { reason: "ServerError", status: 502, attempts: 4 }],
        [json({}, 503), { reason: "ServerError", status: 503, attempts: 4 }],
        [json({}, 504), { reason: "ServerError", status: 504, attempts: 4 }],
        [json({ message: "Bad request" }, 400), {
          reason: "BadResponse",
          status: 400,
          attempts: 1
        }],
        [new Response("{\"cursor\":\"\",\"hits\":1,\"resu", { status: 200 }), {
          reason: "BadResponse",
          status: 200,
          attempts: 4
        }],
        [json(["not", "an", "envelope"]), { reason: "BadResponse", status: 200, attempts: 4 }],
        [new Error("connect ECONNREFUSED 127.0.0.1:9"), {
          reason: "BadResponse",
          status: undefined,
          attempts: 4
        }]
      ]
      for (const [reply, expected] of cases) {
        const { attempts, error } = yield* failureOf(() =>
          reply instanceof Response ? reply.clone() : reply
        )
        expect({ reason: error.reason, status: error.status, attempts }).toStrictEqual(expected)
        expect(error.message).not.toContain(apiKey)
      }
    }))

  it.effect("says which 403 it was and what to do", () =>
    Effect.gen(function*() {
      const key = yield* failureOf(() =>
        json({ message: "Forbidden" }, 403, { "SpyCloud-Error": "Invalid API key" })
      )
      expect(key.error.message).toBe(
        "SpyCloud answered 403 (SpyCloud-Error: Invalid API key) to GET breach/catalog/91001, and " +
          "kept failing when retried. SpyCloud rejected the API key: check SPYCLOUD_API_KEY and " +
          "that the key is active."
      )
      const ip = yield* failureOf(() =>
        json({ message: "Forbidden" }, 403, { "SpyCloud-Error": "IP address not allowed" })
      )
      expect(ip.error.message).toBe(
        "SpyCloud answered 403 (SpyCloud-Error: IP address not allowed) to GET " +
          "breach/catalog/91001, and kept failing when retried. SpyCloud refused this machine's " +
          "IP address: add the connector's public IP address to the API key's allow-list in the " +
          "SpyCloud portal, then run again."
      )
      const path = yield* failureOf(() => json({ message: "Missing Authentication Token" }, 403))
      expect(path.error.message).toBe(
        "SpyCloud answered 403 to GET breach/catalog/91001. A 403 without SpyCloud-Error is what " +
          "an unknown path gets: check that SPYCLOUD_API_BASE_URL (now " +
          "https://api.example.com/enterprise-v2/) is the API's base URL, for example " +
          "https://api.spycloud.io/enterprise-v2/."
      )
      const quota = yield* failureOf(() =>
        json({}, 429, { "x-amzn-ErrorType": "LimitExceededException" })
      )
      expect(quota.error.message).toBe(
        "SpyCloud answered 429 (LimitExceededException) to GET breach/catalog/91001. The API " +
          "key's monthly request quota is used up; it is not retried. The import resumes where it " +
          "stopped once the quota renews or SpyCloud raises it."
      )
    }))

  it.effect("keeps the API key out of errors and logs, even when a lower layer repeats it", () =>
    Effect.gen(function*() {
      const { lines, result } = yield* captureLogs(
        failureOf(() => new Error(`proxy refused request with header X-API-Key: ${apiKey}`))
      )
      expect(result.error.message).toBe(
        "SpyCloud could not be reached for GET breach/catalog/91001: proxy refused request with " +
          "header X-API-Key: ********, and kept failing when retried. Check the network path " +
          "to SpyCloud (proxies, TLS inspection); the next run resumes where this one stopped."
      )
      expect(lines.length).toBe(3)
      expect(lines.every((line) => !line.includes(apiKey) && line.includes("X-API-Key: ********")))
        .toBe(
          true
        )
    }))

  it.effect("honours Retry-After when it asks for longer than the policy", () =>
    Effect.gen(function*() {
      const { layer, requests } = stub((_, attempt) =>
        attempt === 1
          ? json({}, 429, { "x-amzn-ErrorType": "TooManyRequestsException", "Retry-After": "30" })
          : json({ cursor: "", hits: 0, results: [] })
      )
      const api = yield* makeApi(layer, {
        retry: { ...fast, throttling: Schedule.spaced("10 millis") }
      })
      const fiber = yield* Effect.fork(api.catalogEntry(91001))
      yield* TestClock.adjust("29 seconds")
      expect(requests.length).toBe(1)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toStrictEqual(Option.none())
      expect(requests.length).toBe(2)
    }))

  it.effect("cuts a Retry-After longer than the longest it honours", () =>
    Effect.gen(function*() {
      const { layer, requests } = stub((_, attempt) =>
        attempt === 1
          ? json({}, 429, {
            "x-amzn-ErrorType": "TooManyRequestsException",
            "Retry-After": "86400"
          })
          : json({ cursor: "", hits: 0, results: [] })
      )
      const api = yield* makeApi(layer, {
        retry: { ...fast, throttling: Schedule.spaced("10 millis"), longestRetryAfter: "5 seconds" }
      })
      const fiber = yield* Effect.fork(api.catalogEntry(91001))
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(fiber)).toStrictEqual(Option.none())
      expect(requests.length).toBe(2)
    }))

  it.effect("retries throttling for about three minutes, transient failures 5 times, a 403 3 times", () =>
    Effect.gen(function*() {
      const attemptTimes = (policy: Schedule.Schedule<unknown>) =>
        Effect.gen(function*() {
          const times: Array<number> = []
          const fiber = yield* Effect.fork(Effect.retry(
            Effect.flatMap(TestClock.currentTimeMillis, (now) => {
              times.push(now)
              return Effect.fail("failed")
            }),
            policy
          ))
          for (let step = 0; step < 120; step++) yield* TestClock.adjust("5 seconds")
          yield* Fiber.join(fiber).pipe(Effect.ignore)
          return times.map((time) => time - times[0]!)
        })

      const throttling = yield* attemptTimes(Http.throttlingRetry)
      expect(throttling.length).toBe(8)
      expect(throttling.at(-1)!).toBeGreaterThan(180_000)
      expect(throttling.at(-1)!).toBeLessThan(320_000)

      const transient = yield* attemptTimes(Http.transientRetry)
      expect(transient.length).toBe(6)
      expect(transient.at(-1)!).toBeLessThan(Duration.toMillis("25 seconds"))

      expect(yield* attemptTimes(Http.forbiddenRetry)).toStrictEqual([0, 60_000, 120_000, 180_000])
    }))

  it.effect("logs each retry as a warning with its reason", () =>
    Effect.gen(function*() {
      const { lines } = yield* captureLogs(failureOf(() => json({}, 503)))
      expect(lines).toStrictEqual(
        [1, 2, 3].map(() =>
          "WARN SpyCloud answered 503 to GET breach/catalog/91001; retrying in 0 ms. " +
          "{\"reason\":\"ServerError\",\"service\":\"SpyCloudApi\",\"status\":503}"
        )
      )
    }))

  it.effect("is configured by ConnectorConfig in the live layer", () =>
    Effect.gen(function*() {
      const { layer, requests } = stub(() => json({ cursor: "", hits: 0, results: [] }))
      const settings = {
        spycloud: {
          baseUrl: "https://api.example.com/enterprise-v2",
          apiKey: Redacted.make(apiKey),
          requestTimeout: Duration.seconds(5)
        }
      } as unknown as Settings
      const entry = yield* Effect.flatMap(SpyCloudApi, (api) => api.catalogEntry(7)).pipe(
        Effect.provide(
          Http.layer.pipe(
            Layer.provide(layer),
            Layer.provide(Layer.succeed(ConnectorConfig, settings))
          )
        )
      )
      expect(entry).toStrictEqual(Option.none())
      expect(requests.map((request) => request.url.toString())).toStrictEqual([
        "https://api.example.com/enterprise-v2/breach/catalog/7"
      ])
      expect(requests[0]!.headers["x-api-key"]).toBe(apiKey)
      expect(requests[0]!.headers["accept"]).toBe("application/json")
    }))
})

describe("SpyCloudApi in memory", () => {
  const record = (
    id: string,
    day: string,
    severity: number,
    extra: Record<string, unknown> = {}
  ) => ({
    document_id: id,
    spycloud_publish_date: `${day}T00:00:00Z`,
    severity,
    ...extra
  })
  const records = [
    record("a", "2026-08-16", 20),
    record("b", "2026-08-18", 25, { watchlist_type: "ip" }),
    record("c", "2026-08-17", 2),
    record("d", "2026-08-18", 20, { watchlist_type: "email" }),
    record("e", "2026-08-19", 20),
    { spycloud_publish_date: "2026-08-17T00:00:00Z", severity: 20 },
    { document_id: "no-date", severity: 20 }
  ]

  const pagesOf = (q: Partial<WatchlistQuery>, pageSize = 1000) =>
    Effect.flatMap(SpyCloudApi, (api) => collectPages(api.breachPages({ ...query, ...q }))).pipe(
      Effect.provide(Memory.layer(records, {}, pageSize))
    )
  const idsOf = (pages: ReadonlyArray<BreachPage>) =>
    pages.flatMap((page) => page.records.map((found) => found.documentId))

  it.effect("serves whole publish days, newest first, in pages with the query's hits", () =>
    Effect.gen(function*() {
      const pages = yield* pagesOf({ since: "2026-08-16", until: "2026-08-18" }, 2)
      expect(pages.map((page) => page.hits)).toStrictEqual([5, 5, 5])
      expect(idsOf(pages)).toStrictEqual(["b", "d", "c", "a"])
      expect(pages.flatMap((page) => page.rejected)).toStrictEqual([
        {
          documentId: undefined,
          reason: "the record has no usable document_id (missing)"
        }
      ])
    }))

  it.effect("filters on severity and on a record's own watchlist_type field", () =>
    Effect.gen(function*() {
      expect(idsOf(yield* pagesOf({ severities: [20] }))).toStrictEqual(["d", "a"])
      expect(idsOf(yield* pagesOf({ watchlistType: "ip" }))).toStrictEqual(["b", "c", "a"])
      const none = yield* pagesOf({ since: "2026-09-01", until: "2026-09-30" })
      expect(none).toStrictEqual([{ hits: 0, records: [], rejected: [] }])
    }))

  it.effect("looks catalog entries up as raw entries or whole answers", () =>
    Effect.gen(function*() {
      const catalog = {
        "90001": {
          cursor: "",
          hits: 1,
          results: [{ id: 90001, title: "Example Forum Combolist" }]
        },
        "90002": { id: 90002, uuid: "8b2e4f60-1c3d-4e5f-8a9b-7c6d5e4f3a22" }
      }
      const lookup = (id: number) =>
        Effect.flatMap(SpyCloudApi, (api) => api.catalogEntry(id)).pipe(
          Effect.provide(Memory.layer([], catalog))
        )
      expect(Option.map(yield* lookup(90001), (entry) => entry.title)).toStrictEqual(
        Option.some("Example Forum Combolist")
      )
      expect(Option.map(yield* lookup(90002), (entry) => entry.uuid)).toStrictEqual(
        Option.some("8b2e4f60-1c3d-4e5f-8a9b-7c6d5e4f3a22")
      )
      expect(yield* lookup(1)).toStrictEqual(Option.none())
    }))
})
