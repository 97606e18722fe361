/**
 * The SpyCloud API over records held in memory, with the watchlist endpoint's semantics: whole
 * days on `spycloud_publish_date`, the severity filter, newest first, pages of `pageSize` records
 * and `hits` the total of the query.
 *
 * The watchlist type filter: real records do not say which watchlist item matched them, so a record
 * that carries a string `watchlist_type` field matches only that type, and a record without one
 * matches every type. Records whose publish date cannot be read belong to no day and are never
 * served.
 *
 * @since 0.1.0
 */
import { Effect, Either, Layer, Option, Stream } from "effect"
import type { BreachRecord, RejectedRecord } from "../BreachRecord.js"
import { decodeBreachRecord, decodeCatalogEntry, toStixTimestamp } from "../BreachRecord.js"
import type { BreachPage, SpyCloudApiShape, WatchlistQuery } from "../SpyCloudApi.js"
import { SpyCloudApi } from "../SpyCloudApi.js"

/**
 * The API over `records` (raw watchlist records) and `catalog` (source id → the raw catalog entry,
 * or the whole `breach/catalog/{id}` answer, whose first result is used).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  records: Iterable<unknown>,
  catalog: Readonly<Record<string, unknown>> = {},
  pageSize = 1000
): SpyCloudApiShape => {
  const dated = [...records]
    .map((raw, position) => ({ raw, position, publishedAt: publishedAt(raw) }))
    .filter((entry): entry is Dated => entry.publishedAt !== undefined)
    .sort((a, b) =>
      a.publishedAt < b.publishedAt
        ? 1
        : a.publishedAt > b.publishedAt
        ? -1
        : a.position - b.position
    )

  const breachPages = (query: WatchlistQuery): Stream.Stream<BreachPage> =>
    Stream.suspend(() => {
      const matching = dated.filter((entry) => matches(entry, query)).map((entry) => entry.raw)
      const hits = matching.length
      const pageCount = Math.max(1, Math.ceil(hits / pageSize))
      return Stream.range(0, pageCount - 1).pipe(
        Stream.map((page) =>
          decodePage(matching.slice(page * pageSize, (page + 1) * pageSize), hits)
        )
      )
    })

  return {
    breachPages,
    catalogEntry: (sourceId) =>
      Effect.sync(() => Option.fromNullable(decodeCatalogEntry(catalogEntryOf(catalog, sourceId))))
  }
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  records: Iterable<unknown>,
  catalog: Readonly<Record<string, unknown>> = {},
  pageSize = 1000
): Layer.Layer<SpyCloudApi> => Layer.sync(SpyCloudApi, () => make(records, catalog, pageSize))

// ---------------------------------------------------------------------------------------------
// Internals

interface Dated {
  readonly raw: unknown
  readonly position: number
  readonly publishedAt: string
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const publishedAt = (raw: unknown): string | undefined => {
  if (!isObject(raw) || typeof raw.spycloud_publish_date !== "string") return undefined
  return toStixTimestamp(raw.spycloud_publish_date)
}

const matches = (entry: Dated, query: WatchlistQuery): boolean => {
  const day = entry.publishedAt.slice(0, 10)
  if (day < query.since || day > query.until) return false
  const raw = entry.raw as Record<string, unknown>
  if (query.severities.length > 0 && !query.severities.includes(Number(raw.severity))) return false
  if (query.watchlistType === undefined || typeof raw.watchlist_type !== "string") return true
  return raw.watchlist_type === query.watchlistType
}

const decodePage = (raws: ReadonlyArray<unknown>, hits: number): BreachPage => {
  const records: Array<BreachRecord> = []
  const rejected: Array<RejectedRecord> = []
  for (const raw of raws) {
    const decoded = decodeBreachRecord(raw)
    if (Either.isRight(decoded)) records.push(decoded.right)
    else rejected.push(decoded.left)
  }
  return { hits, records, rejected }
}

const catalogEntryOf = (catalog: Readonly<Record<string, unknown>>, sourceId: number): unknown => {
  const value = Object.hasOwn(catalog, String(sourceId)) ? catalog[String(sourceId)] : undefined
  if (isObject(value) && Array.isArray(value.results)) return value.results[0]
  return value
}
