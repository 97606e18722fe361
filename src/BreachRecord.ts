/**
 * A SpyCloud breach record as the rest of the connector sees it, after lenient decoding.
 *
 * @since 0.1.0
 */
import { Either } from "effect"

/**
 * The watchlist types SpyCloud filters on.
 *
 * @since 0.1.0
 * @category models
 */
export const watchlistTypes = ["email", "domain", "subdomain", "ip"] as const

/**
 * The severity codes SpyCloud documents. New codes appear over time; they are accepted too.
 *
 * @since 0.1.0
 * @category models
 */
export const documentedSeverityCodes: ReadonlyArray<number> = [2, 5, 20, 25, 26, 30]

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

/**
 * Whether a SpyCloud value means "nothing here": `null`, `undefined`, or a string that is empty,
 * masked (`********`), `n/a` (any case) or `()`, surrounding whitespace ignored.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isAbsent = (value: unknown): boolean => {
  if (value === null || value === undefined) return true
  if (typeof value !== "string") return false
  const trimmed = value.trim()
  switch (trimmed.length) {
    case 0:
      return true
    case 2:
      return trimmed === "()"
    case 3:
      return trimmed === "n/a" || trimmed.toLowerCase() === "n/a"
    case 8:
      return trimmed === "********"
    default:
      return false
  }
}

/**
 * Decodes one raw watchlist record leniently: only `document_id` and `spycloud_publish_date` are
 * required; every other field is kept as it came, in its order, for the converter to judge.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeBreachRecord = (raw: unknown): Either.Either<BreachRecord, RejectedRecord> => {
  if (!isJsonObject(raw)) {
    return Either.left({
      documentId: undefined,
      reason: `the record is ${describeJsonType(raw)}, not a JSON object`
    })
  }

  const documentId = usableString(raw["document_id"])
  if (documentId === undefined) {
    return Either.left({
      documentId: undefined,
      reason: `the record has no usable document_id (${describeValue(raw["document_id"])})`
    })
  }

  const publishDate = raw["spycloud_publish_date"]
  if (typeof publishDate !== "string" || isAbsent(publishDate)) {
    return Either.left({
      documentId,
      reason: `the record has no usable spycloud_publish_date (${describeValue(publishDate)})`
    })
  }
  const publishedAt = toStixTimestamp(publishDate)
  if (publishedAt === undefined) {
    return Either.left({
      documentId,
      reason: `the record's spycloud_publish_date ${
        JSON.stringify(publishDate.slice(0, 40))
      } is not a valid date`
    })
  }

  return Either.right({
    documentId,
    publishedAt,
    sourceId: toNumber(raw["source_id"]),
    severity: toNumber(raw["severity"]),
    fields: raw
  })
}

/**
 * Decodes one entry of a `breach/catalog/{id}` response. Only an integer `id` is required;
 * `title` and `uuid` are kept when they are present, non-empty strings.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeCatalogEntry = (raw: unknown): CatalogEntry | undefined => {
  if (!isJsonObject(raw)) return undefined
  const id = toNumber(raw["id"])
  if (id === undefined || !Number.isSafeInteger(id)) return undefined
  return {
    id,
    title: usableString(raw["title"]),
    uuid: usableString(raw["uuid"]),
    fields: raw
  }
}

/**
 * Normalises a SpyCloud date or date-time to a STIX timestamp, `YYYY-MM-DDTHH:MM:SS.sssZ`.
 * Accepts `YYYY-MM-DD`, a `T` or a space before the time, optional seconds and fraction, and a
 * `Z` or `±HH[:MM]` zone; a value without a zone is UTC. Fractions beyond milliseconds are cut.
 * Returns `undefined` for anything else, including impossible dates such as February 30.
 *
 * @since 0.1.0
 * @category decoding
 */
export const toStixTimestamp = (value: string): string | undefined => {
  // The common case, `2026-08-18T00:00:00Z`, skips the general parser.
  if (value.length === 20 && value[19] === "Z" && simpleUtc.test(value)) {
    return validDateTime(value, 0) ? value.slice(0, 19) + ".000Z" : undefined
  }

  const match = dateTimePattern.exec(value.trim())
  if (match === null) return undefined
  const [, date, hour = "00", minute = "00", second = "00", fraction = "", zone] = match
  const text = `${date}T${hour}:${minute}:${second}`
  if (!validDateTime(text, 0)) return undefined
  const millis = (fraction + "000").slice(0, 3)

  const offsetMinutes = zone === undefined ? 0 : zoneOffsetMinutes(zone)
  if (offsetMinutes === undefined) return undefined
  if (offsetMinutes === 0) return `${text}.${millis}Z`

  const local = new Date(`${text}.${millis}Z`)
  const shifted = new Date(local.getTime() - offsetMinutes * 60_000)
  const year = shifted.getUTCFullYear()
  return year >= 0 && year <= 9999 ? shifted.toISOString() : undefined
}

const simpleUtc = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/

const dateTimePattern =
  /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i

const daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Checks the ranges of `YYYY-MM-DDTHH:MM:SS` starting at `start`. */
const validDateTime = (text: string, start: number): boolean => {
  const year = digits(text, start, 4)
  const month = digits(text, start + 5, 2)
  const day = digits(text, start + 8, 2)
  const hour = digits(text, start + 11, 2)
  const minute = digits(text, start + 14, 2)
  const second = digits(text, start + 17, 2)
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false
  if (day > daysInMonth[month - 1]!) return false
  return month !== 2 || day < 29 || isLeapYear(year)
}

const digits = (text: string, start: number, count: number): number => {
  let result = 0
  for (let index = start; index < start + count; index++) {
    result = result * 10 + (text.charCodeAt(index) - 48)
  }
  return result
}

const isLeapYear = (year: number): boolean =>
  (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0

const zoneOffsetMinutes = (zone: string): number | undefined => {
  if (zone === "Z" || zone === "z") return 0
  const sign = zone[0] === "-" ? -1 : 1
  const hours = digits(zone, 1, 2)
  const minutes = zone.length === 3 ? 0 : digits(zone, zone.length - 2, 2)
  if (hours > 23 || minutes > 59) return undefined
  return sign * (hours * 60 + minutes)
}

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const usableString = (value: unknown): string | undefined => {
  if (typeof value !== "string" || isAbsent(value)) return undefined
  return value.trim()
}

const numericText = /^\s*-?\d+(?:\.\d+)?\s*$/

/** A finite number, or a string holding one; anything else is `undefined`. */
const toNumber = (value: unknown): number | undefined => {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined
  if (typeof value === "string" && numericText.test(value)) return Number(value)
  return undefined
}

const describeJsonType = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  return typeof value === "object" ? "an object" : `a ${typeof value}`
}

/** Names what was found without echoing it: the value of a broken record may be sensitive. */
const describeValue = (value: unknown): string => {
  if (value === undefined) return "missing"
  if (value === null) return "null"
  if (typeof value === "string") return isAbsent(value) ? "empty or masked" : "a string"
  return `${describeJsonType(value)} instead of a string`
}
