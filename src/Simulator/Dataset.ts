/**
 * A seeded, synthetic SpyCloud watchlist dataset that holds no records: record `i` is generated
 * from `(seed, i)` whenever it is asked for, so millions of records cost no memory.
 *
 * Layout: index 0 is the newest record. Records are grouped by publish day, newest day first, and
 * a small table of day boundaries makes "which indices were published from D1 to D2" one lookup.
 * The mix follows real watchlist data (mostly severity 20 credentials, then severity 25
 * infostealer records, 5, 2 and a few 26 and 30), with SpyCloud's quirks at low rates. Every
 * personal value is invented: example.com/.org/.net names, documentation IP and MAC ranges.
 *
 * @since 0.1.0
 */
import type { WatchlistType } from "../BreachRecord.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface DatasetOptions {
  readonly seed: number
  readonly records: number
  /** The newest publish day, `YYYY-MM-DD`. */
  readonly until: string
  /** How many days, ending with `until`, the publish dates spread over. */
  readonly days: number
}

/**
 * Indices `start` (inclusive) to `end` (exclusive).
 *
 * @since 0.1.0
 * @category models
 */
export interface IndexRange {
  readonly start: number
  readonly end: number
}

/**
 * A watchlist filter: the severities to keep (empty: all) and one watchlist type (undefined: all).
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordFilter {
  readonly severities: ReadonlyArray<number>
  readonly watchlistType: WatchlistType | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Dataset {
  readonly seed: number
  readonly size: number
  /** The newest publish day, `YYYY-MM-DD`. */
  readonly newestDay: string
  /** The oldest publish day, `YYYY-MM-DD`. */
  readonly oldestDay: string
  /** The raw record at `index` (0 = newest), as the watchlist endpoint returns it. */
  readonly recordAt: (index: number) => Record<string, unknown>
  readonly severityAt: (index: number) => number
  readonly watchlistTypeAt: (index: number) => WatchlistType
  /** The publish day of the record at `index`, `YYYY-MM-DD`. */
  readonly dayAt: (index: number) => string
  /** The records published on one day; empty outside the dataset. */
  readonly dayRange: (day: string) => IndexRange
  /** The records published from `since` through `until` (inclusive days); may be empty. */
  readonly daysRange: (since: string, until: string) => IndexRange
  readonly matches: (index: number, filter: RecordFilter) => boolean
  /** How many records of `range` pass `filter`, without generating them. */
  readonly count: (range: IndexRange, filter: RecordFilter) => number
  /** The breach catalog ids the records refer to, ascending. */
  readonly catalogIds: ReadonlyArray<number>
  /** The raw catalog entry of a source id, as `breach/catalog/{id}` returns it in `results`. */
  readonly catalogEntry: (id: number) => Record<string, unknown> | undefined
}

/**
 * The severity codes the dataset uses, with their share of the records.
 *
 * @since 0.1.0
 * @category constants
 */
export const severityMix: ReadonlyArray<readonly [severity: number, share: number]> = [
  [20, 0.7],
  [25, 0.16],
  [5, 0.07],
  [2, 0.06],
  [26, 0.006],
  [30, 0.004]
]

/**
 * Days since 1970-01-01 of a `YYYY-MM-DD` string; `undefined` when it is not a real date.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseDay = (day: string): number | undefined => {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (match === null) return undefined
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))
  const epochDay = ms / DAY_MS
  return formatDay(epochDay) === day ? epochDay : undefined
}

/**
 * The `YYYY-MM-DD` string of a day number since 1970-01-01.
 *
 * @since 0.1.0
 * @category utils
 */
export const formatDay = (epochDay: number): string =>
  new Date(epochDay * DAY_MS).toISOString().slice(0, 10)

/**
 * A dataset of `records` records published over `days` days ending with `until`. The same options
 * give the same records, in the same order, on every machine.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeDataset = (options: DatasetOptions): Dataset => {
  const { days, records, seed } = options
  const newestEpochDay = parseDay(options.until)
  if (newestEpochDay === undefined) {
    throw new RangeError(`The dataset's newest day "${options.until}" is not a YYYY-MM-DD date.`)
  }
  if (!Number.isSafeInteger(records) || records < 0 || records > MAX_RECORDS) {
    throw new RangeError(`A dataset holds 0 to ${MAX_RECORDS} records, not ${records}.`)
  }
  if (!Number.isSafeInteger(days) || days < 1) {
    throw new RangeError(`A dataset spans at least one day, not ${days}.`)
  }

  const keys = seedKeys(seed)
  const dayStarts = dayBoundaries(keys, records, days)
  const dayStrings = Array.from({ length: days }, (_, offset) => formatDay(newestEpochDay - offset))
  const publishDates = dayStrings.map((day) => `${day}T00:00:00Z`)
  const catalog = makeCatalog(keys, newestEpochDay, days)
  const catalogById = new Map(catalog.map((entry) => [entry.id as number, entry]))
  const breachSources = catalog.slice(0, BREACH_SOURCES).map((entry) => entry.id as number)
  const stealerSources = catalog.slice(BREACH_SOURCES).map((entry) => entry.id as number)
  let countTable: Int32Array | undefined

  const checkIndex = (index: number) => {
    if (!Number.isInteger(index) || index < 0 || index >= records) {
      throw new RangeError(`Record index ${index} is outside the dataset (0 to ${records - 1}).`)
    }
  }

  const dayOffsetAt = (index: number): number => {
    let low = 0
    let high = days - 1
    while (low < high) {
      const middle = (low + high + 1) >>> 1
      if (dayStarts[middle]! <= index) low = middle
      else high = middle - 1
    }
    return low
  }

  const classify = (index: number) => {
    const key = classKey(keys, index)
    const severityCode = severityOf(key)
    return { key, severity: severityCode, watchlistType: watchlistTypeOf(key, severityCode) }
  }

  const matches = (index: number, filter: RecordFilter): boolean => {
    if (filter.severities.length === 0 && filter.watchlistType === undefined) return true
    const { severity, watchlistType } = classify(index)
    return (filter.severities.length === 0 || filter.severities.includes(severity)) &&
      (filter.watchlistType === undefined || filter.watchlistType === watchlistType)
  }

  const counts = (): Int32Array => {
    if (countTable !== undefined) return countTable
    const table = new Int32Array(days * CLASSES)
    let offset = 0
    for (let index = 0; index < records; index++) {
      while (dayStarts[offset + 1]! <= index) offset++
      const { severity, watchlistType } = classify(index)
      table[offset * CLASSES + classSlot(severity, watchlistType)]!++
    }
    countTable = table
    return table
  }

  const countDay = (offset: number, filter: RecordFilter): number => {
    const table = counts()
    let total = 0
    for (let s = 0; s < severityCodes.length; s++) {
      if (filter.severities.length > 0 && !filter.severities.includes(severityCodes[s]!)) continue
      for (let t = 0; t < typeOrder.length; t++) {
        if (filter.watchlistType !== undefined && filter.watchlistType !== typeOrder[t]) continue
        total += table[offset * CLASSES + s * typeOrder.length + t]!
      }
    }
    return total
  }

  const countScan = (start: number, end: number, filter: RecordFilter): number => {
    let total = 0
    for (let index = start; index < end; index++) if (matches(index, filter)) total++
    return total
  }

  const countWithinDay = (offset: number, from: number, to: number, filter: RecordFilter) =>
    from === dayStarts[offset] && to === dayStarts[offset + 1]
      ? countDay(offset, filter)
      : countScan(from, to, filter)

  const count = (range: IndexRange, filter: RecordFilter): number => {
    const start = Math.max(0, range.start)
    const end = Math.min(records, range.end)
    if (start >= end) return 0
    if (filter.severities.length === 0 && filter.watchlistType === undefined) return end - start

    let total = 0
    for (let offset = dayOffsetAt(start); offset <= dayOffsetAt(end - 1); offset++) {
      const from = Math.max(start, dayStarts[offset]!)
      const to = Math.min(end, dayStarts[offset + 1]!)
      if (from < to) total += countWithinDay(offset, from, to, filter)
    }
    return total
  }

  const daysRange = (since: string, until: string): IndexRange => {
    const sinceDay = parseDay(since)
    const untilDay = parseDay(until)
    if (sinceDay === undefined || untilDay === undefined) return EMPTY
    const first = Math.max(0, newestEpochDay - untilDay)
    const last = Math.min(days - 1, newestEpochDay - sinceDay)
    if (first > last) return EMPTY
    return { start: dayStarts[first]!, end: dayStarts[last + 1]! }
  }

  const recordAt = (index: number): Record<string, unknown> => {
    checkIndex(index)
    const { key, severity, watchlistType } = classify(index)
    const offset = dayOffsetAt(index)
    const context: RecordContext = {
      rng: new Rng(fmix32((key + keys.fields) >>> 0)),
      severity,
      watchlistType,
      documentId: documentId(keys, index),
      publishDate: publishDates[offset]!,
      publishEpochDay: newestEpochDay - offset,
      sources: severity >= 25 ? stealerSources : breachSources
    }
    return severity >= 25 ? infostealerRecord(context) : credentialRecord(context)
  }

  return {
    seed,
    size: records,
    newestDay: dayStrings[0]!,
    oldestDay: dayStrings[days - 1]!,
    recordAt,
    severityAt: (index) => {
      checkIndex(index)
      return classify(index).severity
    },
    watchlistTypeAt: (index) => {
      checkIndex(index)
      return classify(index).watchlistType
    },
    dayAt: (index) => {
      checkIndex(index)
      return dayStrings[dayOffsetAt(index)]!
    },
    dayRange: (day) => daysRange(day, day),
    daysRange,
    matches,
    count,
    catalogIds: catalog.map((entry) => entry.id as number).sort((a, b) => a - b),
    catalogEntry: (id) => catalogById.get(id)
  }
}

// ---------------------------------------------------------------------------------------------
// Internals

const DAY_MS = 86_400_000
const MAX_RECORDS = 2 ** 31
const EMPTY: IndexRange = { start: 0, end: 0 }

const severityCodes = severityMix.map(([severity]) => severity)
const typeOrder: ReadonlyArray<WatchlistType> = ["email", "domain", "subdomain", "ip"]
const CLASSES = severityCodes.length * typeOrder.length

const classSlot = (severity: number, watchlistType: WatchlistType): number =>
  severityCodes.indexOf(severity) * typeOrder.length + typeOrder.indexOf(watchlistType)

const severityThresholds = (() => {
  let total = 0
  return severityMix.map(([severity, share]) => {
    total += share
    return [severity, Math.round(total * 2 ** 32)] as const
  })
})()

const severityOf = (key: number): number => {
  for (const [severity, threshold] of severityThresholds) if (key < threshold) return severity
  return severityCodes[severityCodes.length - 1]!
}

// Infostealer records carry IP addresses, so only they can be found by an IP watchlist.
const watchlistTypeOf = (key: number, severity: number): WatchlistType => {
  const roll = fmix32(key ^ 0x5bd1e995) / 2 ** 32
  if (severity >= 25) {
    return roll < 0.15 ? "email" : roll < 0.6 ? "domain" : roll < 0.75 ? "subdomain" : "ip"
  }
  return roll < 0.25 ? "email" : roll < 0.8 ? "domain" : "subdomain"
}

/** The murmur3 finalizer: a bijection on 32-bit integers that mixes every bit. */
const fmix32 = (value: number): number => {
  let h = value >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

interface SeedKeys {
  readonly classes: number
  readonly documents: number
  readonly fields: number
  readonly days: number
  readonly catalog: number
}

const seedKeys = (seed: number): SeedKeys => {
  const base = fmix32((seed >>> 0) ^ fmix32(Math.floor(seed / 2 ** 32) + 0x9e3779b9))
  return {
    classes: fmix32(base + 1),
    documents: fmix32(base + 2),
    fields: fmix32(base + 3),
    days: fmix32(base + 4),
    catalog: fmix32(base + 5)
  }
}

const classKey = (keys: SeedKeys, index: number): number =>
  fmix32(Math.imul(index, 0x9e3779b1) ^ keys.classes)

/** A mulberry32 generator: fast, small, and good enough for synthetic data. */
class Rng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  float(): number {
    return this.next() / 2 ** 32
  }

  int(bound: number): number {
    return Math.floor(this.float() * bound)
  }

  chance(probability: number): boolean {
    return this.float() < probability
  }

  pick<A>(values: ReadonlyArray<A>): A {
    return values[this.int(values.length)]!
  }

  hex(length: number): string {
    let out = ""
    while (out.length < length) out += this.next().toString(16).padStart(8, "0")
    return out.slice(0, length)
  }
}

/**
 * Where each day starts: entry `d` is the index of the first record of day offset `d` (0 = the
 * newest day), entry `days` is the record count. Days get uneven shares, as real data does.
 */
const dayBoundaries = (keys: SeedKeys, records: number, days: number): Float64Array => {
  const weights = Array.from({ length: days }, (_, d) => 0.5 + fmix32(keys.days + d) / 2 ** 32)
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0)
  const starts = new Float64Array(days + 1)
  let cumulative = 0
  for (let d = 0; d < days; d++) {
    starts[d] = Math.round((records * cumulative) / totalWeight)
    cumulative += weights[d]!
  }
  starts[days] = records
  return starts
}

/** A UUID-shaped id whose first 8 characters differ between any two records of one dataset. */
const documentId = (keys: SeedKeys, index: number): string => {
  const head = fmix32((Math.imul(index, 0x2c1b3c6d) + keys.documents) >>> 0)
  const rng = new Rng(fmix32(head ^ keys.fields))
  return uuidShape(head, rng.next(), rng.next(), rng.next())
}

const uuidShape = (a: number, b: number, c: number, d: number): string => {
  const hex = (value: number, length: number) => (value >>> 0).toString(16).padStart(length, "0")
  const version = hex((b & 0x0fff) | 0x4000, 4)
  const variant = hex(((c >>> 16) & 0x3fff) | 0x8000, 4)
  return `${hex(a, 8)}-${hex(b >>> 16, 4)}-${version}-${variant}-${hex(c & 0xffff, 4)}${hex(d, 8)}`
}

// ---------------------------------------------------------------------------------------------
// Record shapes

interface RecordContext {
  readonly rng: Rng
  readonly severity: number
  readonly watchlistType: WatchlistType
  readonly documentId: string
  readonly publishDate: string
  readonly publishEpochDay: number
  readonly sources: ReadonlyArray<number>
}

const firstNames = [
  "avery",
  "morgan",
  "sam",
  "quinn",
  "rowan",
  "harper",
  "ellis",
  "jules",
  "remy",
  "sasha",
  "tobin",
  "wren",
  "indigo",
  "marlo",
  "noor",
  "oakley",
  "pax",
  "reese",
  "sol",
  "teagan",
  "vesper",
  "zuri"
]
const lastNames = [
  "quill",
  "vale",
  "rowe",
  "thorne",
  "ashby",
  "marlow",
  "penhale",
  "brackett",
  "dunmore",
  "fenwick",
  "galloway",
  "hollis",
  "kestrel",
  "lindqvist",
  "merrow",
  "norcott",
  "ostrander",
  "pellam",
  "redgrave",
  "sallow",
  "tremaine",
  "whitlock"
]
const baseDomains = ["example.com", "example.org", "example.net"]
const subdomainLabels = [
  "mail",
  "staff",
  "corp",
  "login",
  "forum",
  "sso",
  "shop",
  "portal",
  "app",
  "accounts",
  "vpn",
  "intranet",
  "hr",
  "dev"
]
const urlPaths = [
  "/login",
  "/account",
  "/auth/login",
  "/signin",
  "/wp-login.php",
  "/user/session",
  "/",
  "/oauth/authorize",
  "/members/login.aspx",
  "/admin"
]
const passwordWords = [
  "Winter",
  "Summer",
  "qwerty",
  "sunshine",
  "Dragon",
  "monkey",
  "Letmein",
  "football",
  "Falcon",
  "orchid",
  "Harbor",
  "pepper",
  "Maple",
  "rocket"
]
const passwordSymbols = ["!", "#", "@", "$", "-", "_", "", "."]
const windowsDomains = ["EXAMPLECORP", "EXAMPLE-LAB", "DEMOWORKS", "SAMPLENET"]
const userOs = [
  "Windows 11 Pro (10.0.22631) x64",
  "Windows 10 Pro (10.0.19045) x64",
  "Windows 10 Home (10.0.19045) x64",
  "Windows 11 Home (10.0.22621) x64",
  "Windows 7 Ultimate (6.1.7601) x64"
]
const browsers = [
  "Chrome Profile 1 (128.0.6613.120)",
  "Chrome Default (127.0.6533.89)",
  "Edge Default (127.0.2651.98)",
  "Firefox (129.0.1)",
  "Brave Profile 2 (1.68.141)",
  "Opera Default (112.0.5197.60)"
]
const userAgents = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
  "Chrome/128.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
  "Chrome/127.0.0.0 Safari/537.36 Edg/127.0.0.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:129.0) Gecko/20100101 Firefox/129.0"
]
const infectedFolders = [
  "AppData\\Local\\Temp",
  "Downloads",
  "Desktop",
  "AppData\\Roaming",
  "AppData\\Local\\Programs"
]
const infectedFiles = [
  "setup_demo.exe",
  "installer.exe",
  "crack_tool.exe",
  "update_helper.exe",
  "invoice_scan.scr",
  "game_patch.exe",
  "activator.exe"
]
const keyboardLanguages = [
  "english (united states)",
  "english (united states) | español (méxico) |",
  "english (united kingdom) | français (france)",
  "deutsch (deutschland) | english (united states)",
  "português (brasil)"
]
const resolutions = ["1920x1080", "1366x768", "2560x1440", "1536x864", "1280x720"]
const antivirus = ["Windows Defender", "Example Antivirus Suite", "Sample Endpoint Guard"]
const countries = [
  ["UNITED STATES", "US"],
  ["GERMANY", "DE"],
  ["BRAZIL", "BR"],
  ["FRANCE", "FR"],
  ["INDIA", "IN"],
  ["UNITED KINGDOM", "GB"]
] as const
const timezones = ["UTC-5", "UTC-8", "UTC+1", "UTC-3", "UTC+5:30", "UTC+0"]
const hashTypes = ["bcrypt", "md5", "sha1", "sha256"] as const
const absentMarkers = ["********", "", "n/a", "()"]

interface Person {
  readonly first: string
  readonly last: string
  readonly email: string
  readonly emailUsername: string
  readonly emailDomain: string
}

const person = (rng: Rng, watchlistType: WatchlistType): Person => {
  const first = rng.pick(firstNames)
  const last = rng.pick(lastNames)
  const emailUsername = rng.chance(0.3) ? `${first}.${last}${rng.int(100)}` : `${first}.${last}`
  const base = rng.pick(baseDomains)
  const emailDomain = watchlistType === "subdomain" ? `${rng.pick(subdomainLabels)}.${base}` : base
  return { first, last, email: `${emailUsername}@${emailDomain}`, emailUsername, emailDomain }
}

const capitalize = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1)

const plaintextPassword = (rng: Rng): string =>
  `${rng.pick(passwordWords)}${rng.pick(passwordSymbols)}${rng.int(10_000)}`

const hashedPassword = (rng: Rng, type: (typeof hashTypes)[number]): string => {
  switch (type) {
    case "bcrypt":
      return `$2y$10$${base64ish(rng, 53)}`
    case "md5":
      return rng.hex(32)
    case "sha1":
      return rng.hex(40)
    case "sha256":
      return rng.hex(64)
  }
}

const BASE64ISH = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

const base64ish = (rng: Rng, length: number): string => {
  let out = ""
  for (let i = 0; i < length; i++) out += BASE64ISH[rng.int(BASE64ISH.length)]
  return out
}

interface Target {
  readonly url: string
  readonly domain: string
  readonly subdomain: string
}

const target = (rng: Rng): Target => {
  const domain = rng.pick(baseDomains)
  const subdomain = `${rng.pick(subdomainLabels)}.${domain}`
  const path = rng.pick(urlPaths)
  const url = rng.chance(0.08) ? `${subdomain}${path}` : `https://${subdomain}${path}`
  return { url, domain, subdomain }
}

const timestampAt = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`

const modificationDate = (record: Record<string, unknown>, context: RecordContext): void => {
  if (context.rng.chance(0.08)) {
    const later = context.publishEpochDay + 1 + context.rng.int(30)
    record.record_modification_date = `${formatDay(later)}T00:00:00Z`
  }
}

/** Severity 2, 5 and 20: what a breach or combolist exposes about an email address. */
const credentialRecord = (context: RecordContext): Record<string, unknown> => {
  const { rng, severity } = context
  const who = person(rng, context.watchlistType)
  const record: Record<string, unknown> = { email: who.email }

  if (rng.chance(severity === 20 ? 0.15 : 0.35)) {
    record.full_name = `${capitalize(who.first)} ${capitalize(who.last)}`
  }
  if (rng.chance(0.1)) record.username = `${who.first}${rng.int(1000)}`

  let hashType: (typeof hashTypes)[number] | undefined
  let plaintext: string | undefined
  if (severity === 20) {
    plaintext = plaintextPassword(rng)
    record.password = plaintext
  } else if (severity === 5) {
    hashType = rng.pick(hashTypes)
    record.password = hashedPassword(rng, hashType)
  }
  const site = severity === 20 && rng.chance(0.9) ? target(rng) : undefined
  if (site !== undefined) record.target_url = site.url

  record.source_id = rng.pick(context.sources)
  record.spycloud_publish_date = context.publishDate
  modificationDate(record, context)
  record.email_domain = who.emailDomain
  record.email_username = who.emailUsername
  record.domain = who.emailDomain
  if (site !== undefined) {
    record.target_domain = site.domain
    record.target_subdomain = site.subdomain
  }
  if (plaintext !== undefined) {
    record.password_type = "plaintext"
    record.password_plaintext = plaintext
  } else if (hashType !== undefined) {
    record.password_type = hashType
  }
  record.severity = severity
  record.document_id = context.documentId
  if (severity !== 2) record.sighting = 1 + (rng.chance(0.2) ? rng.int(6) : 0)

  absentValueQuirk(record, rng, ["full_name", "target_url", "username", "password"])
  return record
}

/** Severity 25, 26 and 30: what an infostealer log exposes about an infected device. */
const infostealerRecord = (context: RecordContext): Record<string, unknown> => {
  const { rng } = context
  const who = person(rng, context.watchlistType)
  const windowsDomain = rng.pick(windowsDomains)
  const account = `${who.first.charAt(0)}${who.last}`
  const record: Record<string, unknown> = {}

  const usernameStyle = rng.float()
  const hasEmail = context.watchlistType === "email" || context.watchlistType === "subdomain" ||
    rng.chance(0.5)
  if (hasEmail) record.email = who.email
  if (usernameStyle < 0.4) record.username = `${windowsDomain.toLowerCase()}\\${account}`
  else if (usernameStyle < 0.6) record.username = who.email
  else record.username = account

  const plaintext = plaintextPassword(rng)
  record.password = plaintext
  record.password_plaintext = plaintext
  record.password_type = "plaintext"
  const site = target(rng)
  record.target_url = site.url
  record.user_browser = rng.pick(browsers)
  if (context.watchlistType === "ip" || rng.chance(0.9)) record.ip_addresses = ipAddresses(rng)
  record.infected_machine_id = rng.hex(32).toUpperCase()
  const hostname = `${rng.chance(0.7) ? "DESKTOP" : "LAPTOP"}-${rng.hex(7).toUpperCase()}`
  record.infected_path = infectedPath(rng, account)

  const infectedMs = (context.publishEpochDay - 1 - rng.int(20)) * DAY_MS + rng.int(DAY_MS)
  const infectedTime = timestampAt(infectedMs)
  record.infected_time = rng.chance(0.4)
    ? infectedTime.slice(0, 19).replace("T", " ")
    : infectedTime

  record.user_sys_domain = windowsDomain
  record.user_hostname = hostname
  record.user_os = rng.pick(userOs)
  record.user_sys_registered_owner = account
  if (rng.chance(0.3)) record.user_agent = rng.pick(userAgents)
  if (rng.chance(0.1)) record.mac_address = `00:00:5e:00:53:${rng.hex(2)}`
  if (rng.chance(0.6)) record.keyboard_languages = rng.pick(keyboardLanguages)
  record.display_resolution = rng.pick(resolutions)
  const [country, countryCode] = rng.pick(countries)
  record.timezone = rng.pick(timezones)
  if (rng.chance(0.45)) record.av_softwares = antivirusList(rng)
  record.log_id = rng.hex(64)
  record.country = country
  record.country_code = countryCode

  record.source_id = rng.pick(context.sources)
  record.spycloud_publish_date = context.publishDate
  modificationDate(record, context)
  record.target_domain = site.domain
  record.target_subdomain = site.subdomain
  record.severity = context.severity
  record.document_id = context.documentId
  record.sighting = 1 + (rng.chance(0.15) ? rng.int(4) : 0)

  absentValueQuirk(record, rng, [
    "user_hostname",
    "user_browser",
    "infected_path",
    "user_agent",
    "mac_address",
    "email",
    "password",
    "target_url"
  ])
  return record
}

const ipAddresses = (rng: Rng): ReadonlyArray<string> | string => {
  const count = 1 + (rng.chance(0.3) ? 1 + rng.int(2) : 0)
  const addresses: Array<string> = []
  for (let i = 0; i < count; i++) {
    const roll = rng.float()
    if (roll < 0.4) addresses.push(`192.0.2.${1 + rng.int(254)}`)
    else if (roll < 0.8) addresses.push(`198.51.100.${1 + rng.int(254)}`)
    else if (roll < 0.9) {
      addresses.push(`2001:db8::${rng.hex(1 + rng.int(4)).replace(/^0+(?=.)/, "")}`)
    } else {addresses.push(
        `2001:db8:${rng.int(0xffff).toString(16)}::${rng.int(0xffff).toString(16)}`
      )}
  }
  if (rng.chance(0.1)) return addresses.join(rng.chance(0.5) ? ", " : ",")
  return addresses
}

const infectedPath = (rng: Rng, account: string): string => {
  const file = rng.pick(infectedFiles)
  if (rng.chance(0.1)) return `C:\\ProgramData\\${rng.hex(6)}\\${file}`
  return `C:\\Users\\${account}\\${rng.pick(infectedFolders)}\\${file}`
}

const antivirusList = (rng: Rng): ReadonlyArray<string> => {
  const first = rng.int(antivirus.length)
  if (!rng.chance(0.2)) return [antivirus[first]!]
  return [antivirus[first]!, antivirus[(first + 1) % antivirus.length]!]
}

/** A few records carry a placeholder where a value should be: masked, empty, "n/a" or "()". */
const absentValueQuirk = (
  record: Record<string, unknown>,
  rng: Rng,
  fields: ReadonlyArray<string>
): void => {
  if (!rng.chance(0.04)) return
  const field = rng.pick(fields)
  if (!(field in record)) return
  record[field] = field === "password" ? "********" : rng.pick(absentMarkers)
}

// ---------------------------------------------------------------------------------------------
// Catalog

const BREACH_SOURCES = 24
const STEALER_SOURCES = 12
const FIRST_SOURCE_ID = 91001

const breachNouns = [
  "Forum",
  "Gaming",
  "Retail",
  "Travel",
  "Fitness",
  "Recipe",
  "Dating",
  "Education",
  "Music",
  "Photo",
  "Streaming",
  "Crypto"
]
const breachKinds = ["Combolist", "Breach", "Database Leak", "Paste"]
const stealerNames = ["Stealer Logs", "Infostealer Marketplace Logs", "Malware Log Dump"]

/**
 * Breach sources first (for severities 2, 5 and 20), then infostealer sources. Entries come in the
 * newer shape, the older one (no `breach_main_category`, `tlp`, ...), and a bare one with only
 * `id` and counts, as old catalog entries do.
 */
const makeCatalog = (
  keys: SeedKeys,
  newestEpochDay: number,
  days: number
): ReadonlyArray<Record<string, unknown>> =>
  Array.from({ length: BREACH_SOURCES + STEALER_SOURCES }, (_, n) => {
    const id = FIRST_SOURCE_ID + n
    const rng = new Rng(fmix32(keys.catalog + id))
    const stealer = n >= BREACH_SOURCES
    const published = newestEpochDay - rng.int(days + 30)
    const acquired = published - 1 - rng.int(60)
    const uuid = uuidShape(rng.next(), rng.next(), rng.next(), rng.next())
    const numRecords = stealer ? 10_000 + rng.int(200_000) : 5_000 + rng.int(5_000_000)
    const shape = n % 7 === 6 ? "bare" : n % 2 === 0 ? "newer" : "older"

    if (shape === "bare") {
      return {
        id,
        num_records: numRecords,
        spycloud_publish_date: `${formatDay(published)}T00:00:00Z`
      }
    }

    const title = stealer
      ? `Example ${rng.pick(stealerNames)} ${n - BREACH_SOURCES + 1}`
      : `Example ${rng.pick(breachNouns)} ${rng.pick(breachKinds)}`
    const description = stealer
      ? "Infostealer malware logs recaptured from a fictional criminal marketplace. The data " +
        "contains usernames, passwords, target URLs, IP addresses and infected-device details."
      : "Credential data allegedly belonging to users of a fictional website was leaked online. " +
        "The data contains email addresses, names and passwords."
    const assets: Record<string, number> = stealer
      ? {
        username: numRecords,
        password: numRecords,
        target_url: numRecords,
        ip_addresses: Math.round(numRecords * 0.9),
        infected_machine_id: numRecords,
        infected_path: numRecords,
        user_hostname: numRecords,
        user_agent: Math.round(numRecords * 0.3)
      }
      : {
        email: numRecords,
        password: Math.round(numRecords * 0.8),
        target_url: Math.round(numRecords * 0.6),
        full_name: Math.round(numRecords * 0.2)
      }
    const common = {
      acquisition_date: `${formatDay(acquired)}T00:00:00Z`,
      uuid,
      type: stealer || rng.chance(0.5) ? "PRIVATE" : "PUBLIC",
      num_records: numRecords,
      title,
      spycloud_publish_date: `${formatDay(published)}T00:00:00Z`,
      description,
      site_description: stealer
        ? "Fictional malware log source used for tests."
        : "This data allegedly belongs to users of a fictional website.",
      site: "n/a",
      id,
      confidence: 1 + rng.int(3)
    }
    if (shape === "older") return { ...common, assets }
    return {
      ...common,
      combo_list_flag: !stealer && rng.chance(0.5) ? "YES" : "NO",
      tlp: rng.pick(["amber", "green", "red"]),
      breach_category: stealer ? "infostealer" : "exfiltrated",
      breach_main_category: stealer ? "malware" : "breach",
      consumer_category: "publicexposure",
      sensitive_source: false,
      short_title: title,
      assets
    }
  })
