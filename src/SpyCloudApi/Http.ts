/**
 * The SpyCloud API over HTTP: one configured client (base URL, `X-API-Key`, `Accept`, a request
 * timeout), cursor paging as a pull-based stream, a catalog cache, and a named retry policy for
 * each kind of failure.
 *
 * Which failures are retried:
 * - throttling (`429 TooManyRequestsException`): {@link throttlingRetry}, never sooner than the
 *   answer's `Retry-After`;
 * - `5xx`, timeouts, cut connections and unreadable answers: {@link transientRetry};
 * - a `403` that names its cause in `SpyCloud-Error` (the key, or the caller's IP address):
 *   {@link forbiddenRetry}, since a key or allow-list change takes minutes to apply;
 * - never: the monthly quota (`429 LimitExceededException`), a `403` without `SpyCloud-Error`
 *   (what an unknown path gets, so the base URL is wrong) and other `4xx` answers.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import {
  Cache,
  Clock,
  Data,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  Redacted,
  Schedule,
  Stream
} from "effect"
import type { BreachRecord, CatalogEntry, RejectedRecord } from "../BreachRecord.js"
import { decodeBreachRecord, decodeCatalogEntry } from "../BreachRecord.js"
import { ConnectorConfig } from "../ConnectorConfig.js"
import { scrubber } from "../Redaction.js"
import type {
  BreachPage,
  SpyCloudApiShape,
  SpyCloudErrorReason,
  WatchlistQuery
} from "../SpyCloudApi.js"
import { SpyCloudApi, SpyCloudError } from "../SpyCloudApi.js"

/**
 * Throttling: exponential from 2 seconds with jitter, for at most about three minutes in all.
 *
 * @since 0.1.0
 * @category retry policies
 */
export const throttlingRetry: Schedule.Schedule<unknown> = Schedule.exponential("2 seconds").pipe(
  Schedule.jittered,
  Schedule.upTo("3 minutes")
)

/**
 * Server errors, timeouts, cut connections and unreadable answers: exponential from 500
 * milliseconds with jitter, 5 retries (about 15 seconds in all).
 *
 * @since 0.1.0
 * @category retry policies
 */
export const transientRetry: Schedule.Schedule<unknown> = Schedule.exponential("500 millis").pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(5))
)

/**
 * A `403` naming the key or the IP address: 3 retries a minute apart, long enough for a key or
 * allow-list change made in the SpyCloud portal to apply.
 *
 * @since 0.1.0
 * @category retry policies
 */
export const forbiddenRetry: Schedule.Schedule<unknown> = Schedule.spaced("1 minute").pipe(
  Schedule.intersect(Schedule.recurs(3))
)

/**
 * @since 0.1.0
 * @category retry policies
 */
export interface RetryPolicies {
  readonly throttling: Schedule.Schedule<unknown>
  readonly transient: Schedule.Schedule<unknown>
  readonly forbidden: Schedule.Schedule<unknown>
  /** The longest `Retry-After` honoured; a longer one is cut to this. */
  readonly longestRetryAfter: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category retry policies
 */
export const defaultRetryPolicies: RetryPolicies = {
  throttling: throttlingRetry,
  transient: transientRetry,
  forbidden: forbiddenRetry,
  longestRetryAfter: "3 minutes"
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** For example `https://api.spycloud.io/enterprise-v2/`; the trailing slash is optional. */
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  /** The longest wait for one answer, body included. */
  readonly requestTimeout: Duration.DurationInput
  /** Replaces some of {@link defaultRetryPolicies}, for example to make tests fast. */
  readonly retry?: Partial<RetryPolicies>
}

/**
 * The SpyCloud API over the given `HttpClient`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<SpyCloudApiShape, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const baseUrl = normalizeBaseUrl(options.baseUrl)
    const timeout = Duration.decode(options.requestTimeout)
    const policies: RetryPolicies = { ...defaultRetryPolicies, ...options.retry }
    const scrub = scrubber([options.apiKey])

    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.setHeaders({
        "X-API-Key": Redacted.value(options.apiKey),
        Accept: "application/json"
      }))
    )

    const fetchJson = <A>(
      request: Request,
      decode: (body: unknown) => Either.Either<A, string>
    ): Effect.Effect<A, SpyCloudError> => {
      const attempt = client.get(new URL(request.path, baseUrl), { urlParams: request.params })
        .pipe(
          Effect.flatMap((response) => readAnswer(response, request)),
          Effect.flatMap((body) =>
            Either.match(decode(body), {
              onLeft: (problem) =>
                Effect.fail(
                  new RequestFailure({
                    reason: "BadResponse",
                    status: 200,
                    spyCloudError: undefined,
                    retryAfter: undefined,
                    detail: `SpyCloud's answer to ${describe(request)} ${problem}`
                  })
                ),
              onRight: Effect.succeed
            })
          ),
          Effect.catchTags({
            RequestError: (error) => Effect.fail(transportFailure(error, request, scrub)),
            ResponseError: (error) => Effect.fail(bodyFailure(error, request, scrub))
          }),
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new RequestFailure({
                reason: "Timeout",
                status: undefined,
                spyCloudError: undefined,
                retryAfter: undefined,
                detail: `SpyCloud did not answer ${describe(request)} within ${formatWait(timeout)}`
              })
          })
        )
      return attempt.pipe(
        retryWhile("transient", policies.transient, policies),
        retryWhile("throttling", policies.throttling, policies),
        retryWhile("forbidden", policies.forbidden, policies),
        Effect.mapError((failure) => toSpyCloudError(failure, baseUrl, scrub)),
        Effect.annotateLogs({ service: "SpyCloudApi" })
      )
    }

    const fetchPage = (query: WatchlistQuery, cursor: string | undefined) =>
      fetchJson(
        { path: "breach/data/watchlist", params: watchlistParams(query, cursor) },
        (body) => decodePage(body, cursor)
      ).pipe(
        Effect.withSpan("SpyCloudApi.breachPage", {
          attributes: { since: query.since, until: query.until, first: cursor === undefined }
        })
      )

    const breachPages = (query: WatchlistQuery): Stream.Stream<BreachPage, SpyCloudError> =>
      Stream.paginateEffect(undefined as string | undefined, (cursor) =>
        Effect.map(fetchPage(query, cursor), ({ next, page }) =>
          [page, next === undefined ? Option.none() : Option.some(next)] as const))

    const catalogCache = yield* Cache.make({
      capacity: 100_000,
      timeToLive: Duration.infinity,
      lookup: (sourceId: number) =>
        fetchJson({ path: `breach/catalog/${sourceId}`, params: {} }, decodeCatalogAnswer).pipe(
          Effect.flatMap((entry) =>
            warnUnusable(entry, sourceId)
          ),
          Effect.annotateLogs({ service: "SpyCloudApi" }),
          Effect.withSpan("SpyCloudApi.catalogLookup", { attributes: { sourceId } })
        )
    })

    return {
      breachPages,
      catalogEntry: Effect.fn("SpyCloudApi.catalogEntry")((sourceId: number) =>
        catalogCache.get(sourceId).pipe(
          // A failure is not remembered: the next caller asks SpyCloud again.
          Effect.tapError(() => catalogCache.invalidate(sourceId))
        )
      )
    } satisfies SpyCloudApiShape
  })

/**
 * The SpyCloud API with explicit options, for use without `ConnectorConfig`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (
  options: Options
): Layer.Layer<SpyCloudApi, never, HttpClient.HttpClient> =>
  Layer.effect(SpyCloudApi, make(options))

/**
 * The SpyCloud API configured by `spycloud.baseUrl`, `spycloud.apiKey` and
 * `spycloud.requestTimeout`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<SpyCloudApi, never, HttpClient.HttpClient | ConnectorConfig> = Layer
  .effect(
    SpyCloudApi,
    Effect.flatMap(ConnectorConfig, (settings) =>
      make({
        baseUrl: settings.spycloud.baseUrl,
        apiKey: settings.spycloud.apiKey,
        requestTimeout: settings.spycloud.requestTimeout
      }))
  )

// ---------------------------------------------------------------------------------------------
// Internals

interface Request {
  /** Relative to the base URL, without a leading slash. */
  readonly path: string
  readonly params: Readonly<Record<string, string>>
}

type RetryKind = "transient" | "throttling" | "forbidden" | "none"

/** One failed attempt, before the retry policies decide; turned into a `SpyCloudError` after. */
class RequestFailure extends Data.TaggedError("RequestFailure")<{
  readonly reason: SpyCloudErrorReason
  readonly status: number | undefined
  readonly spyCloudError: string | undefined
  readonly retryAfter: Duration.Duration | undefined
  readonly detail: string
}> {}

const normalizeBaseUrl = (baseUrl: string): URL =>
  new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`)

const watchlistParams = (
  query: WatchlistQuery,
  cursor: string | undefined
): Record<string, string> => {
  const params: Record<string, string> = { since: query.since, until: query.until }
  if (query.severities.length > 0) params.severity = query.severities.join(",")
  if (query.watchlistType !== undefined) params.watchlist_type = query.watchlistType
  if (cursor !== undefined) params.cursor = cursor
  return params
}

/** The request as a log or an error shows it: the path and the filters, never the cursor. */
const describe = (request: Request): string => {
  const filters = Object.entries(request.params)
    .filter(([name]) => name !== "cursor")
    .map(([name, value]) => `${name}=${value}`)
  return filters.length === 0 ? `GET ${request.path}` : `GET ${request.path}?${filters.join("&")}`
}

const header = (response: HttpClientResponse.HttpClientResponse, name: string) => {
  const value = response.headers[name]
  return value === undefined || value === "" ? undefined : value
}

const readAnswer = (
  response: HttpClientResponse.HttpClientResponse,
  request: Request
): Effect.Effect<unknown, RequestFailure | HttpClientError.ResponseError> =>
  Effect.gen(function*() {
    const status = response.status
    if (status >= 200 && status < 300) {
      const text = yield* response.text
      try {
        return JSON.parse(text) as unknown
      } catch {
        return yield* new RequestFailure({
          reason: "BadResponse",
          status,
          spyCloudError: undefined,
          retryAfter: undefined,
          detail: `SpyCloud's answer to ${describe(request)} is not complete JSON (${
            text.length === 0 ? "empty body" : `${text.length} characters`
          })`
        })
      }
    }

    const spyCloudError = header(response, "spycloud-error")
    const errorType = header(response, "x-amzn-errortype") ?? ""
    const failure = (reason: SpyCloudErrorReason, retryAfter?: Duration.Duration) =>
      new RequestFailure({
        reason,
        status,
        spyCloudError,
        retryAfter,
        detail: `SpyCloud answered ${status}${
          spyCloudError === undefined ? "" : ` (SpyCloud-Error: ${spyCloudError})`
        }${errorType === "" ? "" : ` (${errorType})`} to ${describe(request)}`
      })

    if (status === 403) {
      return yield* failure(
        spyCloudError !== undefined && mentionsIp(spyCloudError)
          ? "IpNotAllowed"
          : "Unauthorized"
      )
    }
    if (status === 429) {
      if (errorType.startsWith("LimitExceeded")) return yield* failure("QuotaExceeded")
      const retryAfter = yield* parseRetryAfter(header(response, "retry-after"))
      return yield* failure("RateLimited", retryAfter)
    }
    if (status >= 500) return yield* failure("ServerError")
    return yield* failure("BadResponse")
  })

const mentionsIp = (text: string): boolean => /\bip\b|address|allow/i.test(text)

/** `Retry-After` in seconds or as an HTTP date. */
const parseRetryAfter = (value: string | undefined) =>
  Effect.gen(function*() {
    if (value === undefined) return undefined
    if (/^\d+$/.test(value.trim())) return Duration.seconds(Number(value.trim()))
    const date = Date.parse(value)
    if (Number.isNaN(date)) return undefined
    const now = yield* Clock.currentTimeMillis
    return Duration.millis(Math.max(0, date - now))
  })

const transportFailure = (
  error: HttpClientError.RequestError,
  request: Request,
  scrub: (text: string) => string
): RequestFailure =>
  new RequestFailure({
    reason: "BadResponse",
    status: undefined,
    spyCloudError: undefined,
    retryAfter: undefined,
    detail: scrub(`SpyCloud could not be reached for ${describe(request)}: ${causeOf(error)}`)
  })

const bodyFailure = (
  error: HttpClientError.ResponseError,
  request: Request,
  scrub: (text: string) => string
): RequestFailure =>
  new RequestFailure({
    reason: "BadResponse",
    status: error.response.status,
    spyCloudError: undefined,
    retryAfter: undefined,
    detail: scrub(
      `SpyCloud's answer to ${describe(request)} broke off before its end: ${causeOf(error)}`
    )
  })

const causeOf = (error: HttpClientError.HttpClientError): string => {
  let cause: unknown = error.cause
  // undici wraps the socket error: the innermost message says what happened.
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause
  if (cause instanceof Error && cause.message !== "") return cause.message
  return error.description ?? error.reason
}

const retryKind = (failure: RequestFailure): RetryKind => {
  switch (failure.reason) {
    case "RateLimited":
      return "throttling"
    case "ServerError":
    case "Timeout":
      return "transient"
    case "BadResponse":
      return failure.status === undefined || failure.status < 300 ? "transient" : "none"
    case "Unauthorized":
    case "IpNotAllowed":
      return failure.spyCloudError === undefined ? "none" : "forbidden"
    case "QuotaExceeded":
      return "none"
  }
}

const retryWhile =
  (kind: RetryKind, policy: Schedule.Schedule<unknown>, policies: RetryPolicies) =>
  <A, R>(self: Effect.Effect<A, RequestFailure, R>): Effect.Effect<A, RequestFailure, R> => {
    const longest = Duration.decode(policies.longestRetryAfter)
    const schedule = policy.pipe(
      Schedule.intersect(Schedule.identity<RequestFailure>()),
      Schedule.whileInput((failure: RequestFailure) => retryKind(failure) === kind),
      // Runs only when the policy goes on, so the log never announces a retry that does not come.
      Schedule.modifyDelayEffect(([, failure], delay) => {
        const wait = failure.retryAfter === undefined
          ? delay
          : Duration.max(delay, Duration.min(failure.retryAfter, longest))
        return Effect.as(
          Effect.logWarning(`${failure.detail}; retrying in ${formatWait(wait)}.`).pipe(
            Effect.annotateLogs({ reason: failure.reason, status: failure.status ?? "none" })
          ),
          wait
        )
      })
    )
    return Effect.retry(self, schedule)
  }

const formatWait = (wait: Duration.Duration): string => {
  const millis = Math.round(Duration.toMillis(wait))
  return millis < 1000 ? `${millis} ms` : `${(millis / 1000).toFixed(1)} s`
}

const toSpyCloudError = (
  failure: RequestFailure,
  baseUrl: URL,
  scrub: (text: string) => string
): SpyCloudError => {
  const given = retryKind(failure) === "none" ? "" : ", and kept failing when retried"
  const advice = ((): string => {
    switch (failure.reason) {
      case "Unauthorized":
        return failure.spyCloudError === undefined
          ? `A 403 without SpyCloud-Error is what an unknown path gets: check that ` +
            `SPYCLOUD_API_BASE_URL (now ${baseUrl.origin}${baseUrl.pathname}) is the API's ` +
            `base URL, for example https://api.spycloud.io/enterprise-v2/.`
          : "SpyCloud rejected the API key: check SPYCLOUD_API_KEY and that the key is active."
      case "IpNotAllowed":
        return "SpyCloud refused this machine's IP address: add the connector's public IP " +
          "address to the API key's allow-list in the SpyCloud portal, then run again."
      case "QuotaExceeded":
        return "The API key's monthly request quota is used up; it is not retried. The import " +
          "resumes where it stopped once the quota renews or SpyCloud raises it."
      case "RateLimited":
        return "SpyCloud kept throttling the connector; the next run resumes where this one " +
          "stopped."
      case "ServerError":
        return failure.status === 504
          ? "A 504 that persists usually means the query is too broad: narrow the day window."
          : "SpyCloud is having trouble; the next run resumes where this one stopped."
      case "Timeout":
        return "Raise SPYCLOUD_REQUEST_TIMEOUT if SpyCloud is slow, or check the network."
      case "BadResponse":
        return failure.status !== undefined && failure.status >= 400
          ? "The request was refused as malformed; please report it with this message."
          : "Check the network path to SpyCloud (proxies, TLS inspection); the next run " +
            "resumes where this one stopped."
    }
  })()
  return new SpyCloudError({
    reason: failure.reason,
    message: scrub(`${failure.detail}${given}. ${advice}`),
    ...(failure.status === undefined ? {} : { status: failure.status })
  })
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

type Decoded<A> = Either.Either<A, string>

const decodePage = (
  body: unknown,
  cursor: string | undefined
): Decoded<{ readonly page: BreachPage; readonly next: string | undefined }> => {
  if (!isObject(body) || !Array.isArray(body.results)) return Either.left("has no results list")
  // No cursor, or null, ends the query like ""; any other kind could hide the next pages.
  if (body.cursor !== undefined && body.cursor !== null && typeof body.cursor !== "string") {
    return Either.left("has a cursor that is not a string")
  }
  const next = typeof body.cursor === "string" && body.cursor !== "" ? body.cursor : undefined
  if (next !== undefined && next === cursor) {
    return Either.left("repeats the cursor it was asked for")
  }

  const records: Array<BreachRecord> = []
  const rejected: Array<RejectedRecord> = []
  for (const raw of body.results) {
    const decoded = decodeBreachRecord(raw)
    if (Either.isRight(decoded)) records.push(decoded.right)
    else rejected.push(decoded.left)
  }
  const hits = typeof body.hits === "number" && Number.isFinite(body.hits)
    ? body.hits
    : records.length + rejected.length
  return Either.right({ page: { hits, records, rejected }, next })
}

/** `undefined` inside `Some`: an entry was returned, but without a usable id. */
const decodeCatalogAnswer = (body: unknown): Decoded<Option.Option<CatalogEntry | undefined>> => {
  if (!isObject(body) || !Array.isArray(body.results)) return Either.left("has no results list")
  if (body.results.length === 0) return Either.right(Option.none())
  return Either.right(Option.some(decodeCatalogEntry(body.results[0])))
}

const warnUnusable = (
  entry: Option.Option<CatalogEntry | undefined>,
  sourceId: number
): Effect.Effect<Option.Option<CatalogEntry>> => {
  if (Option.isNone(entry)) return Effect.succeedNone
  if (entry.value !== undefined) return Effect.succeedSome(entry.value)
  return Effect.as(
    Effect.logWarning(
      `The breach catalog entry of source ${sourceId} has no usable id; records of this source ` +
        `get the fallback source name.`
    ),
    Option.none()
  )
}
