/**
 * The SpyCloud breach API as a service: watchlist records as a pull-based stream of pages, and
 * cached catalog look-ups. The HTTP adapter is in `SpyCloudApi/Http.ts`; `SpyCloudApi/Memory.ts`
 * serves records held in memory.
 *
 * @since 0.1.0
 */
import type { Effect, Option, Stream } from "effect"
import { Context, Data } from "effect"
import type { BreachRecord, CatalogEntry, RejectedRecord, WatchlistType } from "./BreachRecord.js"

/**
 * Why a SpyCloud request failed.
 *
 * @since 0.1.0
 * @category errors
 */
export type SpyCloudErrorReason =
  | "Unauthorized"
  | "IpNotAllowed"
  | "QuotaExceeded"
  | "RateLimited"
  | "Timeout"
  | "ServerError"
  | "BadResponse"

/**
 * A failed SpyCloud request, after its retry policy gave up. The message says what happened and
 * what the operator can do; it never contains the API key.
 *
 * @since 0.1.0
 * @category errors
 */
export class SpyCloudError extends Data.TaggedError("SpyCloudError")<{
  readonly reason: SpyCloudErrorReason
  readonly message: string
  readonly status?: number
}> {}

/**
 * One watchlist query: whole days `since` to `until` (inclusive, `YYYY-MM-DD`) on
 * `spycloud_publish_date`, optionally one watchlist type and a severity filter (empty: all).
 *
 * @since 0.1.0
 * @category models
 */
export interface WatchlistQuery {
  readonly since: string
  readonly until: string
  readonly watchlistType: WatchlistType | undefined
  readonly severities: ReadonlyArray<number>
}

/**
 * One page of a watchlist query. `hits` is the total of the whole query.
 *
 * @since 0.1.0
 * @category models
 */
export interface BreachPage {
  readonly hits: number
  readonly records: ReadonlyArray<BreachRecord>
  readonly rejected: ReadonlyArray<RejectedRecord>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SpyCloudApiShape {
  /** The pages of a query, newest first, each fetched only when pulled. */
  readonly breachPages: (query: WatchlistQuery) => Stream.Stream<BreachPage, SpyCloudError>
  /** A breach catalog entry; `None` for an unknown id. Cached per source id. */
  readonly catalogEntry: (
    sourceId: number
  ) => Effect.Effect<Option.Option<CatalogEntry>, SpyCloudError>
}

/**
 * @since 0.1.0
 * @category services
 */
export class SpyCloudApi
  extends Context.Tag("spycloud/SpyCloudApi")<SpyCloudApi, SpyCloudApiShape>()
{}
