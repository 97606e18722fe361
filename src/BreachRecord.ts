/**
 * A SpyCloud breach record as the rest of the connector sees it, after lenient decoding.
 *
 * @since 0.1.0
 */

/**
 * The watchlist types SpyCloud filters on.
 *
 * @since 0.1.0
 * @category models
 */
export const watchlistTypes = ["email", "domain", "subdomain", "ip"] as const

/**
 * @since 0.1.0
 * @category models
 */
export type WatchlistType = (typeof watchlistTypes)[number]

/**
 * A decoded breach record. `fields` keeps every field of the response, unknown ones included, in
 * the response's order; the typed properties are the ones the pipeline relies on.
 *
 * @since 0.1.0
 * @category models
 */
export interface BreachRecord {
  readonly documentId: string
  /** `spycloud_publish_date` as a STIX timestamp with milliseconds, UTC. */
  readonly publishedAt: string
  readonly sourceId: number | undefined
  readonly severity: number | undefined
  readonly fields: Readonly<Record<string, unknown>>
}

/**
 * A record that could not be decoded: it is skipped, logged and counted, never fatal.
 *
 * @since 0.1.0
 * @category models
 */
export interface RejectedRecord {
  readonly documentId: string | undefined
  readonly reason: string
}

/**
 * A breach catalog entry. Only `id` is certain; the rest varies with the entry's age.
 *
 * @since 0.1.0
 * @category models
 */
export interface CatalogEntry {
  readonly id: number
  readonly title: string | undefined
  readonly uuid: string | undefined
  readonly fields: Readonly<Record<string, unknown>>
}
