/**
 * A SpyCloud API simulator: an HTTP server on 127.0.0.1 that serves a synthetic dataset through
 * the real protocol (`GET breach/data/watchlist` with cursor paging, `GET breach/catalog/{id}`,
 * the `X-API-Key` check) and can misbehave on demand, deterministically, the ways the real service
 * does: throttling, the monthly quota, 5xx answers, slow, cut or truncated responses, the "query
 * too broad" 504 and a key or IP rejection.
 *
 * Error answers, as the real API gateway gives them:
 * - an unknown path or method: `403`, `x-amzn-ErrorType: MissingAuthenticationTokenException`,
 *   no `SpyCloud-Error` header;
 * - a missing or wrong key: `403`, `SpyCloud-Error: Invalid API key`;
 * - an address not on the allow-list: `403`, `SpyCloud-Error: IP address not allowed`;
 * - throttling: `429`, `x-amzn-ErrorType: TooManyRequestsException`, `Retry-After` (seconds);
 * - the monthly quota: `429`, `x-amzn-ErrorType: LimitExceededException`;
 * - a query the simulator cannot read (bad date, severity, type or cursor): `400`.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import type { WatchlistType } from "../BreachRecord.js"
import { watchlistTypes } from "../BreachRecord.js"
import type { Dataset, DatasetOptions, IndexRange, RecordFilter } from "./Dataset.js"
import { formatDay, makeDataset, parseDay } from "./Dataset.js"

/**
 * A fault that lasts for a number of requests, a time, or (neither given) until it is switched
 * off with `setFaults`. Both given: whichever ends first.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultSpan {
  readonly requests?: number
  readonly millis?: number
}

/**
 * How the simulator misbehaves. Rates are per request, from 0 to 1, drawn from a generator seeded
 * with `seed`, so the same requests in the same order meet the same faults.
 *
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  readonly seed: number
  /** `429 TooManyRequestsException`. */
  readonly throttleRate: number
  /** The `Retry-After` header of a throttled answer, in seconds; `undefined` sends none. */
  readonly retryAfterSeconds: number | undefined
  readonly serverErrorRate: number
  readonly gatewayTimeoutRate: number
  /** The connection is destroyed after part of a successful body was sent. */
  readonly resetRate: number
  /** A successful answer whose JSON body is cut short (with a matching `Content-Length`). */
  readonly truncateRate: number
  readonly delayMillis: number
  /** Share of the requests that wait `delayMillis` before they are answered. */
  readonly delayRate: number
  /** A watchlist query whose `hits` exceed this answers `504`, as a too-broad query does. */
  readonly tooBroadAbove: number | undefined
  /** `429 LimitExceededException` on every request while it lasts. */
  readonly quotaExceeded: FaultSpan | undefined
  /** `403` with the IP `SpyCloud-Error` on every request while it lasts. */
  readonly ipNotAllowed: FaultSpan | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SimulatorOptions extends Partial<DatasetOptions> {
  /**
   * The records to serve. Without it, a dataset is made from `seed`, `records`, `until` and
   * `days` (defaults: seed 1, 10,000 records over the 30 days ending 2026-08-18).
   */
  readonly dataset?: Dataset
  readonly apiKey?: string
  /** 0 (the default) picks a free port. */
  readonly port?: number
  readonly pageSize?: number
  /**
   * The share of day `D-1` (its latest records) that a `since=D` query also returns, at least one
   * record when the rate is above 0. Default 0.02; 0 turns the quirk off.
   */
  readonly previousDayRate?: number
  readonly faults?: Partial<Faults>
}

/**
 * One request as the simulator saw it; the `X-API-Key` value is replaced by whether it matched.
 *
 * @since 0.1.0
 * @category models
 */
export interface SeenRequest {
  readonly method: string
  readonly path: string
  readonly query: ReadonlyArray<readonly [string, string]>
  readonly headers: Readonly<Record<string, string>>
  readonly apiKeyMatched: boolean
}

/**
 * What the simulator received and answered since it started (or since `resetCounters`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Counters {
  readonly total: number
  readonly watchlist: number
  /** Catalog requests per source id (the id as written in the path). */
  readonly catalog: Readonly<Record<string, number>>
  /** Requests to a path the API does not have. */
  readonly unknownPath: number
  /** Answers per HTTP status; cut connections are counted under `resets`, not here. */
  readonly statuses: Readonly<Record<string, number>>
  readonly resets: number
  readonly truncations: number
  /** The last requests, oldest first (at most 100). */
  readonly recentRequests: ReadonlyArray<SeenRequest>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Simulator {
  /** `http://127.0.0.1:<port>/enterprise-v2/` */
  readonly baseUrl: string
  readonly apiKey: string
  readonly dataset: Dataset
  readonly counters: () => Counters
  readonly resetCounters: () => void
  /** Changes some faults from now on; a span starts counting when it is set. */
  readonly setFaults: (faults: Partial<Faults>) => void
}

/**
 * The path prefix of the real API.
 *
 * @since 0.1.0
 * @category constants
 */
export const basePath = "/enterprise-v2/"

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultApiKey = "simulator-api-key"

/**
 * No faults: every request is answered correctly and at once.
 *
 * @since 0.1.0
 * @category constants
 */
export const noFaults: Faults = {
  seed: 1,
  throttleRate: 0,
  retryAfterSeconds: 1,
  serverErrorRate: 0,
  gatewayTimeoutRate: 0,
  resetRate: 0,
  truncateRate: 0,
  delayMillis: 0,
  delayRate: 1,
  tooBroadAbove: undefined,
  quotaExceeded: undefined,
  ipNotAllowed: undefined
}

/**
 * Starts a simulator on 127.0.0.1 for the life of the scope. A port already in use, or dataset
 * options `makeDataset` refuses, are defects: they are mistakes in the calling code.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (
  options: SimulatorOptions = {}
): Effect.Effect<Simulator, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.promise(() => listen(options)),
      (running) => Effect.promise(() => running.close())
    ),
    (running) => running.simulator
  )

/**
 * Starts a simulator outside Effect; `close` stops it. Rejects when the port is in use.
 *
 * @since 0.1.0
 * @category constructors
 */
export const listen = async (
  options: SimulatorOptions = {}
): Promise<{ readonly simulator: Simulator; readonly close: () => Promise<void> }> => {
  const dataset = options.dataset ?? makeDataset({
    seed: options.seed ?? defaultDataset.seed,
    records: options.records ?? defaultDataset.records,
    until: options.until ?? defaultDataset.until,
    days: options.days ?? defaultDataset.days
  })
  const state = new SimulatorState(dataset, {
    apiKey: options.apiKey ?? defaultApiKey,
    pageSize: options.pageSize ?? 1000,
    previousDayRate: options.previousDayRate ?? 0.02,
    faults: options.faults ?? {}
  })

  const server = createServer((request, response) => state.handle(request, response))
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port

  return {
    simulator: {
      baseUrl: `http://127.0.0.1:${port}${basePath}`,
      apiKey: state.apiKey,
      dataset,
      counters: () => state.snapshot(),
      resetCounters: () => state.resetCounters(),
      setFaults: (faults) => state.setFaults(faults)
    },
    close: () => closeServer(server, state)
  }
}

// ---------------------------------------------------------------------------------------------
// Internals

const defaultDataset: DatasetOptions = { seed: 1, records: 10_000, until: "2026-08-18", days: 30 }
const RECENT_REQUESTS = 100

interface ActiveSpan {
  readonly requests: number | undefined
  readonly until: number | undefined
  used: number
}

interface WatchlistQuery {
  readonly since: string | undefined
  readonly until: string | undefined
  readonly filter: RecordFilter
}

interface WatchlistPage {
  readonly cursor: string
  readonly hits: number
  readonly results: ReadonlyArray<Record<string, unknown>>
}

class BadRequest {
  constructor(readonly message: string) {}
}

class SimulatorState {
  readonly apiKey: string
  private readonly pageSize: number
  private readonly previousDayRate: number
  private faults: Faults = noFaults
  private random = seededRandom(noFaults.seed)
  private quotaSpan: ActiveSpan | undefined
  private ipSpan: ActiveSpan | undefined
  private counts = emptyCounts()
  readonly timers = new Set<NodeJS.Timeout>()

  constructor(
    readonly dataset: Dataset,
    options: {
      readonly apiKey: string
      readonly pageSize: number
      readonly previousDayRate: number
      readonly faults: Partial<Faults>
    }
  ) {
    this.apiKey = options.apiKey
    this.pageSize = options.pageSize
    this.previousDayRate = options.previousDayRate
    this.setFaults(options.faults)
  }

  setFaults(faults: Partial<Faults>): void {
    this.faults = { ...this.faults, ...faults }
    if (faults.seed !== undefined) this.random = seededRandom(faults.seed)
    if ("quotaExceeded" in faults) this.quotaSpan = activeSpan(faults.quotaExceeded)
    if ("ipNotAllowed" in faults) this.ipSpan = activeSpan(faults.ipNotAllowed)
  }

  resetCounters(): void {
    this.counts = emptyCounts()
  }

  snapshot(): Counters {
    return {
      total: this.counts.total,
      watchlist: this.counts.watchlist,
      catalog: Object.fromEntries(this.counts.catalog),
      unknownPath: this.counts.unknownPath,
      statuses: Object.fromEntries(this.counts.statuses),
      resets: this.counts.resets,
      truncations: this.counts.truncations,
      recentRequests: [...this.counts.recentRequests]
    }
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", "http://127.0.0.1")
    const apiKeyMatched = request.headers["x-api-key"] === this.apiKey
    this.record(request, url, apiKeyMatched)

    // One fixed set of draws per request keeps the faults of later requests independent of
    // which earlier requests happened to succeed.
    const draws = {
      throttle: this.random(),
      serverError: this.random(),
      gatewayTimeout: this.random(),
      reset: this.random(),
      truncate: this.random(),
      delay: this.random()
    }
    const delay = this.faults.delayMillis > 0 && draws.delay < this.faults.delayRate
      ? this.faults.delayMillis
      : 0
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      this.after(delay, () => this.send(response, status, body, headers, draws))

    const route = routeOf(request.method, url.pathname)
    if (route === undefined) this.counts.unknownPath++
    else if (route.kind === "watchlist") this.counts.watchlist++
    else this.counts.catalog.set(route.id, (this.counts.catalog.get(route.id) ?? 0) + 1)

    if (consume(this.ipSpan)) {
      return answer(403, { message: "Forbidden" }, { "SpyCloud-Error": "IP address not allowed" })
    }
    if (route === undefined) {
      return answer(403, { message: "Missing Authentication Token" }, {
        "x-amzn-ErrorType": "MissingAuthenticationTokenException"
      })
    }
    if (!apiKeyMatched) {
      return answer(403, { message: "Forbidden" }, { "SpyCloud-Error": "Invalid API key" })
    }
    if (consume(this.quotaSpan)) {
      return answer(429, { message: "Limit Exceeded" }, {
        "x-amzn-ErrorType": "LimitExceededException"
      })
    }
    if (draws.throttle < this.faults.throttleRate) {
      const retryAfter = this.faults.retryAfterSeconds
      return answer(429, { message: "Too Many Requests" }, {
        "x-amzn-ErrorType": "TooManyRequestsException",
        ...(retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) })
      })
    }
    if (draws.serverError < this.faults.serverErrorRate) {
      return answer(500, { message: "Internal server error" })
    }
    if (draws.gatewayTimeout < this.faults.gatewayTimeoutRate) {
      return answer(504, { message: "Endpoint request timed out" })
    }

    if (route.kind === "catalog") return answer(200, this.catalogPage(route.id))
    try {
      const page = this.watchlistPage(url.searchParams)
      const tooBroadAbove = this.faults.tooBroadAbove
      if (tooBroadAbove !== undefined && page.hits > tooBroadAbove) {
        return answer(504, { message: "Endpoint request timed out" })
      }
      return answer(200, page)
    } catch (error) {
      if (error instanceof BadRequest) return answer(400, { message: error.message })
      return answer(500, { message: "Internal server error" })
    }
  }

  private record(request: IncomingMessage, url: URL, apiKeyMatched: boolean): void {
    this.counts.total++
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(request.headers)) {
      if (name === "x-api-key" || value === undefined) continue
      headers[name] = Array.isArray(value) ? value.join(", ") : value
    }
    this.counts.recentRequests.push({
      method: request.method ?? "GET",
      path: url.pathname,
      query: [...url.searchParams.entries()],
      headers,
      apiKeyMatched
    })
    if (this.counts.recentRequests.length > RECENT_REQUESTS) this.counts.recentRequests.shift()
  }

  private after(delay: number, action: () => void): void {
    if (delay === 0) return action()
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      action()
    }, delay)
    this.timers.add(timer)
  }

  private send(
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string>,
    draws: { readonly reset: number; readonly truncate: number }
  ): void {
    if (response.destroyed) return
    const json = Buffer.from(JSON.stringify(body))
    const ok = status === 200

    if (ok && draws.reset < this.faults.resetRate) {
      this.counts.resets++
      response.writeHead(status, {
        ...headers,
        "Content-Type": "application/json",
        "Content-Length": String(json.length)
      })
      response.write(json.subarray(0, Math.floor(json.length / 2)), () => response.destroy())
      return
    }

    const truncated = ok && draws.truncate < this.faults.truncateRate
    const payload = truncated ? json.subarray(0, Math.floor(json.length / 2)) : json
    if (truncated) this.counts.truncations++
    const key = String(status)
    this.counts.statuses.set(key, (this.counts.statuses.get(key) ?? 0) + 1)
    response.writeHead(status, {
      ...headers,
      "Content-Type": "application/json",
      "Content-Length": String(payload.length)
    })
    response.end(payload)
  }

  private catalogPage(id: string): unknown {
    const entry = /^\d+$/.test(id) ? this.dataset.catalogEntry(Number(id)) : undefined
    return entry === undefined
      ? { cursor: "", hits: 0, results: [] }
      : { cursor: "", hits: 1, results: [entry] }
  }

  private watchlistPage(params: URLSearchParams): WatchlistPage {
    const query = parseQuery(params)
    const range = this.queryRange(query)
    const hits = this.dataset.count(range, query.filter)
    const check = queryCheck(query)

    let index = range.start
    let seen = 0
    const cursor = params.get("cursor")
    if (cursor !== null && cursor !== "") {
      const position = decodeCursor(cursor, check)
      if (position === undefined) {
        throw new BadRequest("Invalid cursor: it belongs to a query with other filters.")
      }
      index = Math.max(range.start, position.index)
      seen = position.seen
    }

    const results: Array<Record<string, unknown>> = []
    while (index < range.end && results.length < this.pageSize) {
      if (this.dataset.matches(index, query.filter)) results.push(this.dataset.recordAt(index))
      index++
    }
    const more = index < range.end && seen + results.length < hits
    return {
      cursor: more ? encodeCursor({ index, seen: seen + results.length }, check) : "",
      hits,
      results
    }
  }

  /** The indices a query covers, with the `D-1` quirk: the latest records of the day before. */
  private queryRange(query: WatchlistQuery): IndexRange {
    const since = query.since ?? this.dataset.oldestDay
    const until = query.until ?? this.dataset.newestDay
    if (since > until) return { start: 0, end: 0 }
    const range = this.dataset.daysRange(since, until)
    if (query.since === undefined || this.previousDayRate <= 0) return range

    const previous = this.dataset.dayRange(formatDay(parseDay(since)! - 1))
    const previousSize = previous.end - previous.start
    if (previousSize === 0) return range
    // Newest first, so the latest records of D-1 directly follow the records of D.
    return {
      start: range.end > range.start ? range.start : previous.start,
      end: previous.start + Math.ceil(previousSize * this.previousDayRate)
    }
  }
}

const emptyCounts = () => ({
  total: 0,
  watchlist: 0,
  catalog: new Map<string, number>(),
  unknownPath: 0,
  statuses: new Map<string, number>(),
  resets: 0,
  truncations: 0,
  recentRequests: [] as Array<SeenRequest>
})

const activeSpan = (span: FaultSpan | undefined): ActiveSpan | undefined =>
  span === undefined ? undefined : {
    requests: span.requests,
    until: span.millis === undefined ? undefined : Date.now() + span.millis,
    used: 0
  }

/** Whether a span still applies to this request, counting the request against it. */
const consume = (span: ActiveSpan | undefined): boolean => {
  if (span === undefined) return false
  if (span.requests !== undefined && span.used >= span.requests) return false
  if (span.until !== undefined && Date.now() >= span.until) return false
  span.used++
  return true
}

type Route = { readonly kind: "watchlist" } | { readonly kind: "catalog"; readonly id: string }

const routeOf = (method: string | undefined, pathname: string): Route | undefined => {
  if (method !== "GET" || !pathname.startsWith(basePath)) return undefined
  const rest = pathname.slice(basePath.length)
  if (rest === "breach/data/watchlist") return { kind: "watchlist" }
  const catalog = /^breach\/catalog\/([^/]+)$/.exec(rest)
  return catalog === null ? undefined : { kind: "catalog", id: decodeURIComponent(catalog[1]!) }
}

const parseQuery = (params: URLSearchParams): WatchlistQuery => {
  const day = (name: string) => {
    const value = params.get(name)
    if (value === null || value === "") return undefined
    if (parseDay(value) === undefined) {
      throw new BadRequest(`Invalid ${name}: expected a YYYY-MM-DD date.`)
    }
    return value
  }
  const severities = params.getAll("severity").flatMap((value) => value.split(","))
    .map((value) => value.trim()).filter((value) => value !== "").map((value) => {
      if (!/^\d+$/.test(value)) throw new BadRequest("Invalid severity: expected integers.")
      return Number(value)
    })
  const type = params.get("watchlist_type")
  if (type !== null && type !== "" && !(watchlistTypes as ReadonlyArray<string>).includes(type)) {
    throw new BadRequest(`Invalid watchlist_type: expected one of ${watchlistTypes.join(", ")}.`)
  }
  return {
    since: day("since"),
    until: day("until"),
    filter: {
      severities: [...new Set(severities)].sort((a, b) => a - b),
      watchlistType: type === null || type === "" ? undefined : type as WatchlistType
    }
  }
}

/** A short fingerprint of a query's filters, carried in its cursors. */
const queryCheck = (query: WatchlistQuery): string => {
  const text = [
    query.since ?? "",
    query.until ?? "",
    query.filter.severities.join(","),
    query.filter.watchlistType ?? ""
  ].join("|")
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  return (hash >>> 0).toString(36)
}

const encodeCursor = (position: { index: number; seen: number }, check: string): string =>
  Buffer.from(`${position.index}.${position.seen}.${check}`).toString("base64url")

const decodeCursor = (
  cursor: string,
  check: string
): { readonly index: number; readonly seen: number } | undefined => {
  const match = /^(\d+)\.(\d+)\.([0-9a-z]+)$/.exec(Buffer.from(cursor, "base64url").toString())
  if (match === null || match[3] !== check) return undefined
  return { index: Number(match[1]), seen: Number(match[2]) }
}

/** A mulberry32 generator returning floats in [0, 1). */
const seededRandom = (seed: number): () => number => {
  let state = seed | 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const closeServer = (server: Server, state: SimulatorState): Promise<void> =>
  new Promise((resolve) => {
    for (const timer of state.timers) clearTimeout(timer)
    state.timers.clear()
    server.close(() => resolve())
    server.closeAllConnections()
  })
