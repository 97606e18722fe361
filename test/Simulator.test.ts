import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import type { Dataset, RecordFilter } from "../src/Simulator/Dataset.js"
import { formatDay, makeDataset, parseDay } from "../src/Simulator/Dataset.js"
import type { Simulator, SimulatorOptions } from "../src/Simulator/Server.js"
import { start } from "../src/Simulator/Server.js"

const options = { seed: 42, records: 10_000, until: "2026-08-18", days: 30 }
const dataset = makeDataset(options)
const all: ReadonlyArray<Record<string, unknown>> = Array.from(
  { length: dataset.size },
  (_, index) => dataset.recordAt(index)
)

const share = (predicate: (record: Record<string, unknown>) => boolean) =>
  all.filter(predicate).length / all.length

const invented = {
  domain: /^([a-z0-9-]+\.)*example\.(com|org|net)$/,
  email: /^[a-z0-9._-]+@([a-z0-9-]+\.)*example\.(com|org|net)$/,
  url: /^(https:\/\/)?([a-z0-9-]+\.)*example\.(com|org|net)(\/[\w./-]*)?$/,
  ipv4: /^(192\.0\.2|198\.51\.100)\.(\d{1,3})$/,
  ipv6: /^2001:db8:[0-9a-f:]*$/,
  mac: /^00:00:5e:00:53:[0-9a-f]{2}$/
}
const absentMarkers = ["********", "", "n/a", "()"]

const ipsOf = (value: unknown): ReadonlyArray<string> =>
  typeof value === "string" ? value.split(",").map((ip) => ip.trim()) : value as Array<string>

describe("Dataset", () => {
  it("gives the same record for the same seed and index, and another for another seed", () => {
    const again = makeDataset(options)
    for (const index of [0, 1, 17, 4_999, 9_999]) {
      expect(again.recordAt(index)).toStrictEqual(dataset.recordAt(index))
    }
    const other = makeDataset({ ...options, seed: 43 })
    expect(other.recordAt(0)).not.toStrictEqual(dataset.recordAt(0))
  })

  it("generates exactly this first record for seed 42, on every machine", () => {
    expect(dataset.recordAt(0)).toStrictEqual({
      email: "vesper.ashby16@portal.example.com",
      password: "Winter-30",
      target_url: "https://vpn.example.net/wp-login.php",
      source_id: 91009,
      spycloud_publish_date: "2026-08-18T00:00:00Z",
      email_domain: "portal.example.com",
      email_username: "vesper.ashby16",
      domain: "portal.example.com",
      target_domain: "example.net",
      target_subdomain: "vpn.example.net",
      password_type: "plaintext",
      password_plaintext: "Winter-30",
      severity: 20,
      document_id: "87d5675e-f2d0-4e28-a2a4-b23950562afb",
      sighting: 1
    })
  })

  it("shapes infostealer records like SpyCloud's, field names and JSON types included", () => {
    expect(dataset.recordAt(1)).toStrictEqual({
      email: "ellis.kestrel@dev.example.com",
      username: "ellis.kestrel@dev.example.com",
      password: "Summer-7818",
      password_plaintext: "Summer-7818",
      password_type: "plaintext",
      target_url: "https://shop.example.org/wp-login.php",
      user_browser: "Edge Default (127.0.2651.98)",
      ip_addresses: ["198.51.100.5"],
      infected_machine_id: "EA6C0FF666D1CCDA8DDDFD58A109453C",
      infected_path: "C:\\Users\\ekestrel\\Desktop\\setup_demo.exe",
      infected_time: "2026-07-30 09:22:06",
      user_sys_domain: "SAMPLENET",
      user_hostname: "DESKTOP-8EEB5C6",
      user_os: "Windows 10 Home (10.0.19045) x64",
      user_sys_registered_owner: "ekestrel",
      user_agent:
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:129.0) Gecko/20100101 Firefox/129.0",
      keyboard_languages: "deutsch (deutschland) | english (united states)",
      display_resolution: "1536x864",
      timezone: "UTC+1",
      av_softwares: ["Example Antivirus Suite", "Sample Endpoint Guard"],
      log_id: "53b14638be5f78ae69831ed3988c43872645a08d89fa6a2afb8b5b58312d2e04",
      country: "INDIA",
      country_code: "IN",
      source_id: 91031,
      spycloud_publish_date: "2026-08-18T00:00:00Z",
      target_domain: "example.org",
      target_subdomain: "shop.example.org",
      severity: 25,
      document_id: "dbcc14b9-ab33-4450-8e9b-c82bf6ec984c",
      sighting: 1
    })
  })

  it("follows SpyCloud's severity mix within a percentage point or two on 10k records", () => {
    const severity = (code: number) => share((record) => record.severity === code)
    expect(Math.abs(severity(20) - 0.7)).toBeLessThan(0.02)
    expect(Math.abs(severity(25) - 0.16)).toBeLessThan(0.015)
    expect(Math.abs(severity(5) - 0.07)).toBeLessThan(0.01)
    expect(Math.abs(severity(2) - 0.06)).toBeLessThan(0.01)
    expect(Math.abs(severity(26) - 0.006)).toBeLessThan(0.003)
    expect(Math.abs(severity(30) - 0.004)).toBeLessThan(0.003)
    expect(all.every((record) => [2, 5, 20, 25, 26, 30].includes(record.severity as number))).toBe(
      true
    )
  })

  it("keeps severityAt and watchlistTypeAt in step with the records", () => {
    for (let index = 0; index < all.length; index++) {
      expect(all[index]!.severity).toBe(dataset.severityAt(index))
    }
    const ipRecords = all.filter((_, index) => dataset.watchlistTypeAt(index) === "ip")
    expect(ipRecords.length).toBeGreaterThan(0)
    expect(ipRecords.every((record) => record.ip_addresses !== undefined)).toBe(true)
    expect(ipRecords.every((record) => (record.severity as number) >= 25)).toBe(true)
  })

  it("uses only invented emails, domains, URLs, IP and MAC addresses", () => {
    const problems: Array<string> = []
    const check = (value: unknown, pattern: RegExp, what: string, id: unknown) => {
      if (value === undefined || absentMarkers.includes(value as string)) return
      if (typeof value !== "string" || !pattern.test(value)) problems.push(`${id} ${what} ${value}`)
    }
    for (const record of all) {
      const id = record.document_id
      check(record.email, invented.email, "email", id)
      for (const field of ["email_domain", "domain", "target_domain", "target_subdomain"]) {
        check(record[field], invented.domain, field, id)
      }
      check(record.target_url, invented.url, "target_url", id)
      check(record.mac_address, invented.mac, "mac_address", id)
      if (record.ip_addresses !== undefined) {
        for (const ip of ipsOf(record.ip_addresses)) {
          const v4 = invented.ipv4.exec(ip)
          if (v4 !== null && Number(v4[2]) <= 255) continue
          if (!invented.ipv6.test(ip)) problems.push(`${id} ip ${ip}`)
        }
      }
      if (typeof record.username === "string" && record.username.includes("@")) {
        check(record.username, invented.email, "username", id)
      }
    }
    expect(problems).toStrictEqual([])
  })

  it("includes SpyCloud's data quirks at low rates", () => {
    const values = all.flatMap((record) => Object.values(record))
    for (const marker of absentMarkers) {
      const rate = values.filter((value) => value === marker).length / all.length
      expect(rate, `marker ${JSON.stringify(marker)}`).toBeGreaterThan(0)
      expect(rate, `marker ${JSON.stringify(marker)}`).toBeLessThan(0.03)
    }
    const urls = all.filter((record) =>
      typeof record.target_url === "string" &&
      invented.url.test(record.target_url)
    )
    const schemeless = urls.filter((record) =>
      !(record.target_url as string).startsWith("https://")
    )
    expect(Math.abs(schemeless.length / urls.length - 0.08)).toBeLessThan(0.02)

    const modified = all.filter((record) => record.record_modification_date !== undefined)
    expect(Math.abs(modified.length / all.length - 0.08)).toBeLessThan(0.02)
    expect(
      modified.every((record) =>
        (record.record_modification_date as string) > (record.spycloud_publish_date as string)
      )
    ).toBe(true)

    const stealer = all.filter((record) => record.infected_time !== undefined)
    const spaced = stealer.filter((record) =>
      / \d\d:\d\d:\d\d$/.test(record.infected_time as string)
    )
    expect(Math.abs(spaced.length / stealer.length - 0.4)).toBeLessThan(0.05)
    const ips = stealer.filter((record) => record.ip_addresses !== undefined)
    const commaStrings = ips.filter((record) => typeof record.ip_addresses === "string")
    expect(Math.abs(commaStrings.length / ips.length - 0.1)).toBeLessThan(0.03)
    expect(ips.some((record) => ipsOf(record.ip_addresses).some((ip) => ip.includes(":")))).toBe(
      true
    )
    expect(stealer.some((record) => (record.username as string).includes("\\"))).toBe(true)
  })

  it("gives every record a distinct UUID-shaped document id with a distinct 8-character head", () => {
    const ids = all.map((record) => record.document_id as string)
    expect(ids.every((id) =>
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
        .test(id)
    )).toBe(true)
    expect(new Set(ids).size).toBe(all.length)
    expect(new Set(ids.map((id) => id.slice(0, 8))).size).toBe(all.length)
  })

  it("lays records out newest first, and finds a day's records with one lookup", () => {
    expect(dataset.newestDay).toBe("2026-08-18")
    expect(dataset.oldestDay).toBe("2026-07-20")
    for (let index = 0; index < all.length; index++) {
      expect(all[index]!.spycloud_publish_date).toBe(`${dataset.dayAt(index)}T00:00:00Z`)
      if (index > 0) expect(dataset.dayAt(index) <= dataset.dayAt(index - 1)).toBe(true)
    }
    expect(dataset.dayRange("2026-08-18")).toStrictEqual({ start: 0, end: 349 })
    expect(dataset.dayRange("2026-08-17")).toStrictEqual({ start: 349, end: 703 })
    expect(dataset.dayRange("2026-07-20")).toStrictEqual({ start: 9_836, end: 10_000 })
    expect(dataset.dayRange("2026-07-19")).toStrictEqual({ start: 0, end: 0 })
    expect(dataset.dayRange("2026-08-19")).toStrictEqual({ start: 0, end: 0 })
    expect(dataset.daysRange("2026-08-17", "2026-08-18")).toStrictEqual({ start: 0, end: 703 })
    expect(dataset.daysRange("2026-01-01", "2027-01-01")).toStrictEqual({ start: 0, end: 10_000 })
    expect(dataset.daysRange("2026-08-18", "2026-08-17")).toStrictEqual({ start: 0, end: 0 })

    let covered = 0
    for (let offset = 0; offset < 30; offset++) {
      const day = formatDay(parseDay("2026-08-18")! - offset)
      const range = dataset.dayRange(day)
      expect(range.start).toBe(covered)
      for (let index = range.start; index < range.end; index++) {
        expect(dataset.dayAt(index)).toBe(day)
      }
      covered = range.end
    }
    expect(covered).toBe(10_000)
  })

  it("counts filtered records exactly as a scan does, whole days and partial ranges alike", () => {
    const filters: ReadonlyArray<RecordFilter> = [
      { severities: [], watchlistType: undefined },
      { severities: [20, 25], watchlistType: undefined },
      { severities: [], watchlistType: "ip" },
      { severities: [2, 5], watchlistType: "subdomain" },
      { severities: [30], watchlistType: "email" }
    ]
    const ranges = [
      dataset.daysRange("2026-08-01", "2026-08-10"),
      { start: 0, end: 10_000 },
      { start: 123, end: 4_567 },
      { start: 350, end: 351 }
    ]
    for (const filter of filters) {
      for (const range of ranges) {
        let scanned = 0
        for (let index = range.start; index < range.end; index++) {
          if (dataset.matches(index, filter)) scanned++
        }
        expect(dataset.count(range, filter)).toBe(scanned)
      }
    }
  })

  it("has a catalog entry for every source id, in newer, older and bare shapes", () => {
    const sources = new Set(all.map((record) => record.source_id as number))
    expect(dataset.catalogIds.length).toBe(36)
    for (const id of sources) expect(dataset.catalogIds).toContain(id)
    for (const id of dataset.catalogIds) expect(dataset.catalogEntry(id)?.id).toBe(id)
    const entries = dataset.catalogIds.map((id) => dataset.catalogEntry(id)!)
    expect(entries.filter((entry) => "breach_main_category" in entry).length).toBe(15)
    expect(entries.filter((entry) => "title" in entry && !("tlp" in entry)).length).toBe(16)
    expect(entries.filter((entry) => !("title" in entry)).length).toBe(5)
    expect(dataset.catalogEntry(1)).toBe(undefined)
  })

  it("generates a record in well under 10 microseconds of CPU time", () => {
    const big = makeDataset({ seed: 3, records: 1_000_000, until: "2026-08-18", days: 90 })
    let best = Infinity
    // CPU time rather than wall time: other processes share the machine while tests run.
    for (let run = 0; run < 5; run++) {
      const started = process.cpuUsage()
      for (let index = run * 50_000; index < (run + 1) * 50_000; index++) big.recordAt(index)
      const used = process.cpuUsage(started)
      best = Math.min(best, (used.user + used.system) / 50_000)
    }
    expect(best).toBeLessThan(10)
  })

  it("refuses options it cannot honour", () => {
    expect(() => makeDataset({ ...options, until: "2026-02-30" })).toThrow(/YYYY-MM-DD/)
    expect(() => makeDataset({ ...options, days: 0 })).toThrow(/at least one day/)
    expect(() => makeDataset({ ...options, records: -1 })).toThrow(/0 to/)
    expect(() => dataset.recordAt(10_000)).toThrow(/outside the dataset/)
  })
})

// ---------------------------------------------------------------------------------------------

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: { cursor: string; hits: number; results: Array<Record<string, unknown>> }
}

const get = (simulator: Simulator, path: string, apiKey: string | null = simulator.apiKey) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(new URL(path, simulator.baseUrl), {
      headers: apiKey === null ? {} : { "X-API-Key": apiKey }
    })
    const text = await response.text()
    let json: Answer["json"]
    try {
      json = JSON.parse(text)
    } catch {
      json = { cursor: "", hits: -1, results: [] }
    }
    return { status: response.status, headers: response.headers, text, json }
  })

const fetchFails = (simulator: Simulator, path: string) =>
  Effect.promise(() =>
    fetch(new URL(path, simulator.baseUrl), { headers: { "X-API-Key": simulator.apiKey } })
      .then((response) => response.text())
      .then(() => false, () => true)
  )

const allPages = (simulator: Simulator, query: string) =>
  Effect.gen(function*() {
    const pages: Array<Answer["json"]> = []
    let cursor = ""
    do {
      const separator = cursor === "" ? "" : `&cursor=${cursor}`
      const answer = yield* get(simulator, `breach/data/watchlist?${query}${separator}`)
      expect(answer.status).toBe(200)
      pages.push(answer.json)
      cursor = answer.json.cursor
    } while (cursor !== "")
    return pages
  })

const withSimulator = <A>(
  simulatorOptions: SimulatorOptions,
  body: (simulator: Simulator) => Effect.Effect<A>
) => Effect.scoped(Effect.flatMap(start(simulatorOptions), body))

const small: SimulatorOptions = { seed: 5, records: 5_000, until: "2026-08-18", days: 5 }

const indicesOf = (data: Dataset, filter: RecordFilter, start: number, end: number) => {
  const indices: Array<number> = []
  for (let index = start; index < end; index++) if (data.matches(index, filter)) indices.push(index)
  return indices
}

describe("Simulator", () => {
  it.live("pages a query 1000 records at a time, newest first, with hits and a final empty cursor", () =>
    withSimulator(small, (simulator) =>
      Effect.gen(function*() {
        expect(simulator.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/enterprise-v2\/$/)
        const pages = yield* allPages(simulator, "since=2026-08-14&until=2026-08-18")
        expect(pages.map((page) => page.results.length)).toStrictEqual([
          1000,
          1000,
          1000,
          1000,
          1000
        ])
        expect(pages.map((page) => page.hits)).toStrictEqual([5000, 5000, 5000, 5000, 5000])
        expect(pages.slice(0, 4).every((page) => page.cursor !== "")).toBe(true)
        expect(pages[4]!.cursor).toBe("")
        const records = pages.flatMap((page) => page.results)
        expect(records).toStrictEqual(
          Array.from({ length: 5000 }, (_, index) => simulator.dataset.recordAt(index))
        )
        expect(simulator.counters().watchlist).toBe(5)
      })))

  it.live("honours a configured page size", () =>
    withSimulator(
      { ...small, pageSize: 300, records: 1000 },
      (simulator) =>
        Effect.gen(function*() {
          const pages = yield* allPages(simulator, "since=2026-08-14&until=2026-08-18")
          expect(pages.map((page) => page.results.length)).toStrictEqual([300, 300, 300, 100])
        })
    ))

  it.live("filters on publish days, severity in both forms, and watchlist type", () =>
    withSimulator({ ...small, previousDayRate: 0 }, (simulator) =>
      Effect.gen(function*() {
        const data = simulator.dataset
        const days = data.daysRange("2026-08-16", "2026-08-17")
        const dayPages = yield* allPages(simulator, "since=2026-08-16&until=2026-08-17")
        expect(dayPages.flatMap((page) => page.results).map((record) => record.document_id))
          .toStrictEqual(
            indicesOf(data, { severities: [], watchlistType: undefined }, days.start, days.end)
              .map((index) => data.recordAt(index).document_id)
          )

        const severe = { severities: [20, 25], watchlistType: undefined }
        const expected = indicesOf(data, severe, 0, 5000).map((index) =>
          data.recordAt(index).document_id
        )
        const joined = yield* allPages(
          simulator,
          "since=2026-08-14&until=2026-08-18&severity=20,25"
        )
        const repeated = yield* allPages(
          simulator,
          "since=2026-08-14&until=2026-08-18&severity=20&severity=25"
        )
        expect(joined[0]!.hits).toBe(expected.length)
        expect(joined.flatMap((page) => page.results).map((record) => record.document_id))
          .toStrictEqual(expected)
        expect(repeated).toStrictEqual(joined)

        const ip = yield* allPages(simulator, "since=2026-08-14&until=2026-08-18&watchlist_type=ip")
        const ipIndices = indicesOf(data, { severities: [], watchlistType: "ip" }, 0, 5000)
        expect(ip[0]!.hits).toBe(ipIndices.length)
        expect(ip.flatMap((page) => page.results).map((record) => record.document_id))
          .toStrictEqual(ipIndices.map((index) => data.recordAt(index).document_id))
      })))

  it.live("answers 400 to a cursor of another query and to filters it cannot read", () =>
    withSimulator(small, (simulator) =>
      Effect.gen(function*() {
        const first = yield* get(
          simulator,
          "breach/data/watchlist?since=2026-08-14&until=2026-08-18"
        )
        const cursor = first.json.cursor
        const other = yield* get(
          simulator,
          `breach/data/watchlist?since=2026-08-14&until=2026-08-18&severity=20&cursor=${cursor}`
        )
        expect(other.status).toBe(400)
        expect(JSON.parse(other.text)).toStrictEqual({
          message: "Invalid cursor: it belongs to a query with other filters."
        })
        const same = yield* get(
          simulator,
          `breach/data/watchlist?since=2026-08-14&until=2026-08-18&cursor=${cursor}`
        )
        expect(same.status).toBe(200)
        expect((yield* get(simulator, "breach/data/watchlist?since=2026-13-01")).status).toBe(400)
        expect((yield* get(simulator, "breach/data/watchlist?severity=high")).status).toBe(400)
        expect((yield* get(simulator, "breach/data/watchlist?watchlist_type=phone")).status).toBe(
          400
        )
        expect((yield* get(simulator, "breach/data/watchlist?cursor=bm9wZQ")).status).toBe(400)
      })))

  it.live("checks the API key and answers unknown paths like the API gateway", () =>
    withSimulator(small, (simulator) =>
      Effect.gen(function*() {
        const missing = yield* get(simulator, "breach/data/watchlist", null)
        expect(missing.status).toBe(403)
        expect(missing.headers.get("SpyCloud-Error")).toBe("Invalid API key")
        const wrong = yield* get(simulator, "breach/catalog/91001", "not-the-key")
        expect(wrong.status).toBe(403)
        expect(wrong.headers.get("SpyCloud-Error")).toBe("Invalid API key")
        const path = yield* get(simulator, "/breach/data/watchlist")
        expect(path.status).toBe(403)
        expect(path.headers.get("SpyCloud-Error")).toBe(null)
        expect(path.headers.get("x-amzn-ErrorType")).toBe("MissingAuthenticationTokenException")
        const counters = simulator.counters()
        expect(counters.unknownPath).toBe(1)
        expect(counters.statuses).toStrictEqual({ "403": 3 })
        expect(counters.recentRequests.map((request) => request.apiKeyMatched)).toStrictEqual([
          false,
          false,
          true
        ])
      })))

  it.live("serves catalog entries, and hits 0 for an unknown id", () =>
    withSimulator(small, (simulator) =>
      Effect.gen(function*() {
        const known = yield* get(simulator, "breach/catalog/91001")
        expect(known.json).toStrictEqual({
          cursor: "",
          hits: 1,
          results: [simulator.dataset.catalogEntry(91001)]
        })
        const unknown = yield* get(simulator, "breach/catalog/123")
        expect(unknown.json).toStrictEqual({ cursor: "", hits: 0, results: [] })
        yield* get(simulator, "breach/catalog/91001")
        expect(simulator.counters().catalog).toStrictEqual({ "91001": 2, "123": 1 })
      })))

  it.live("also returns the latest records of D-1 to a since=D query, unless switched off", () =>
    Effect.gen(function*() {
      const data = makeDataset({ seed: 5, records: 5_000, until: "2026-08-18", days: 5 })
      const day = data.dayRange("2026-08-17")
      const before = data.dayRange("2026-08-16")
      const extra = Math.ceil((before.end - before.start) * 0.02)
      const quirky = yield* withSimulator(
        { dataset: data },
        (simulator) => allPages(simulator, "since=2026-08-17&until=2026-08-17")
      )
      const records = quirky.flatMap((page) => page.results)
      expect(quirky[0]!.hits).toBe(day.end - day.start + extra)
      expect(records.map((record) => record.document_id)).toStrictEqual(
        Array.from(
          { length: day.end - day.start + extra },
          (_, offset) => data.recordAt(day.start + offset).document_id
        )
      )
      expect(
        records.filter((record) => record.spycloud_publish_date === "2026-08-16T00:00:00Z").length
      )
        .toBe(extra)

      const plain = yield* withSimulator(
        { dataset: data, previousDayRate: 0 },
        (simulator) => allPages(simulator, "since=2026-08-17&until=2026-08-17")
      )
      expect(plain[0]!.hits).toBe(day.end - day.start)
    }))

  it.live("throttles with TooManyRequestsException and Retry-After", () =>
    withSimulator(
      { ...small, faults: { throttleRate: 1, retryAfterSeconds: 7 } },
      (simulator) =>
        Effect.gen(function*() {
          const answer = yield* get(simulator, "breach/catalog/91001")
          expect(answer.status).toBe(429)
          expect(answer.headers.get("x-amzn-ErrorType")).toBe("TooManyRequestsException")
          expect(answer.headers.get("Retry-After")).toBe("7")
          simulator.setFaults({ throttleRate: 0 })
          expect((yield* get(simulator, "breach/catalog/91001")).status).toBe(200)
        })
    ))

  it.live("answers the monthly quota for N requests, or until switched off", () =>
    withSimulator(
      { ...small, faults: { quotaExceeded: { requests: 2 } } },
      (simulator) =>
        Effect.gen(function*() {
          const statuses: Array<number> = []
          for (let i = 0; i < 3; i++) {
            statuses.push((yield* get(simulator, "breach/catalog/1")).status)
          }
          expect(statuses).toStrictEqual([429, 429, 200])
          simulator.setFaults({ quotaExceeded: {} })
          const quota = yield* get(simulator, "breach/catalog/1")
          expect(quota.status).toBe(429)
          expect(quota.headers.get("x-amzn-ErrorType")).toBe("LimitExceededException")
          simulator.setFaults({ quotaExceeded: undefined })
          expect((yield* get(simulator, "breach/catalog/1")).status).toBe(200)
        })
    ))

  it.live("refuses an IP address for the first N requests or for a while", () =>
    withSimulator(
      { ...small, faults: { ipNotAllowed: { requests: 1 } } },
      (simulator) =>
        Effect.gen(function*() {
          const refused = yield* get(simulator, "breach/catalog/91001")
          expect(refused.status).toBe(403)
          expect(refused.headers.get("SpyCloud-Error")).toBe("IP address not allowed")
          expect((yield* get(simulator, "breach/catalog/91001")).status).toBe(200)

          simulator.setFaults({ ipNotAllowed: { millis: 150 } })
          expect((yield* get(simulator, "breach/catalog/91001")).status).toBe(403)
          yield* Effect.sleep("200 millis")
          expect((yield* get(simulator, "breach/catalog/91001")).status).toBe(200)
        })
    ))

  it.live("answers 500 and 504 at their rates, and 504 to a query that is too broad", () =>
    withSimulator(
      { ...small, faults: { serverErrorRate: 1 } },
      (simulator) =>
        Effect.gen(function*() {
          expect((yield* get(simulator, "breach/catalog/91001")).status).toBe(500)
          simulator.setFaults({ serverErrorRate: 0, gatewayTimeoutRate: 1 })
          expect((yield* get(simulator, "breach/catalog/91001")).status).toBe(504)
          simulator.setFaults({ gatewayTimeoutRate: 0, tooBroadAbove: 1500 })
          const broad = yield* get(
            simulator,
            "breach/data/watchlist?since=2026-08-14&until=2026-08-18"
          )
          expect(broad.status).toBe(504)
          const narrow = yield* get(
            simulator,
            "breach/data/watchlist?since=2026-08-18&until=2026-08-18"
          )
          expect(narrow.status).toBe(200)
          expect(simulator.counters().statuses).toStrictEqual({ "200": 1, "500": 1, "504": 2 })
        })
    ))

  it.live("cuts connections, truncates bodies and delays answers on demand", () =>
    withSimulator({ ...small, faults: { resetRate: 1 } }, (simulator) =>
      Effect.gen(function*() {
        expect(yield* fetchFails(simulator, "breach/data/watchlist")).toBe(true)
        expect(simulator.counters().resets).toBe(1)

        simulator.setFaults({ resetRate: 0, truncateRate: 1 })
        const truncated = yield* get(simulator, "breach/data/watchlist")
        expect(truncated.status).toBe(200)
        expect(() => JSON.parse(truncated.text)).toThrow()
        expect(truncated.text.startsWith("{\"cursor\":\"")).toBe(true)
        expect(simulator.counters().truncations).toBe(1)

        simulator.setFaults({ truncateRate: 0, delayMillis: 200 })
        const started = Date.now()
        expect((yield* get(simulator, "breach/catalog/91001")).status).toBe(200)
        expect(Date.now() - started).toBeGreaterThanOrEqual(195)
      })))

  it.live("draws the same faults from the same seed", () =>
    Effect.gen(function*() {
      const statuses = (seed: number) =>
        withSimulator({ ...small, faults: { seed, serverErrorRate: 0.5 } }, (simulator) =>
          Effect.gen(function*() {
            const seen: Array<number> = []
            for (let i = 0; i < 24; i++) {
              seen.push((yield* get(simulator, "breach/catalog/9")).status)
            }
            return seen
          }))
      const first = yield* statuses(11)
      expect(yield* statuses(11)).toStrictEqual(first)
      expect(
        first.filter((status) =>
          status === 500
        ).length
      ).toBeGreaterThan(4)
      expect(first.filter((status) => status === 200).length).toBeGreaterThan(4)
      expect(yield* statuses(12)).not.toStrictEqual(first)
    }))

  it("runs as its own process, prints its address and stops on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/Simulator/main.ts",
        "--records",
        "50",
        "--seed",
        "9",
        "--until",
        "2026-08-18",
        "--days",
        "2",
        "--api-key",
        "process-key"
      ],
      { cwd: new URL("..", import.meta.url), stdio: ["ignore", "pipe", "pipe"] }
    )
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout }).once("line", resolve)
    )
    const address = JSON.parse(line) as { baseUrl: string; apiKey: string }
    expect(address.apiKey).toBe("process-key")
    expect(address.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/enterprise-v2\/$/)

    const response = await fetch(new URL("breach/data/watchlist", address.baseUrl), {
      headers: { "X-API-Key": "process-key" }
    })
    const page = await response.json() as Answer["json"]
    expect(page.hits).toBe(50)
    expect(page.results[0]).toStrictEqual(
      makeDataset({ seed: 9, records: 50, until: "2026-08-18", days: 2 }).recordAt(0)
    )

    child.kill("SIGTERM")
    expect(await exited).toBe(0)
  })
})
