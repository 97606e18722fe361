import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { readFileSync } from "node:fs"
import {
  decodeBreachRecord,
  decodeCatalogEntry,
  isAbsent,
  toStixTimestamp
} from "../src/BreachRecord.js"

const fixtures = new URL("../../shared/fixtures/", import.meta.url)
const page = JSON.parse(readFileSync(new URL("watchlist-page.json", fixtures), "utf8")) as {
  readonly results: ReadonlyArray<Record<string, unknown>>
}
const catalog = JSON.parse(readFileSync(new URL("catalog-responses.json", fixtures), "utf8")) as {
  readonly [id: string]: { readonly results: ReadonlyArray<unknown> }
}

const valid = {
  document_id: "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c",
  spycloud_publish_date: "2026-08-18T00:00:00Z"
}

const rejection = (raw: unknown) => {
  const result = decodeBreachRecord(raw)
  if (Either.isRight(result)) throw new Error("expected a rejected record")
  return result.left
}

const decoded = (raw: unknown) => {
  const result = decodeBreachRecord(raw)
  if (Either.isLeft(result)) throw new Error(`expected a record: ${result.left.reason}`)
  return result.right
}

describe("isAbsent", () => {
  it("treats SpyCloud's placeholders as absent", () => {
    const absent = [
      null,
      undefined,
      "",
      "   ",
      "********",
      " ******** ",
      "n/a",
      "N/A",
      " N/a ",
      "()"
    ]
    expect(absent.map(isAbsent)).toEqual(absent.map(() => true))
  })

  it("keeps real values, including look-alikes", () => {
    const present = ["a", "*******", "*********", "n/ab", "na", "(x)", 0, false, [], {}, "null"]
    expect(present.map(isAbsent)).toEqual(present.map(() => false))
  })
})

describe("toStixTimestamp", () => {
  it("normalises every accepted form to milliseconds in UTC", () => {
    expect(toStixTimestamp("2026-08-18T00:00:00Z")).toBe("2026-08-18T00:00:00.000Z")
    expect(toStixTimestamp("2026-08-18")).toBe("2026-08-18T00:00:00.000Z")
    expect(toStixTimestamp("2026-08-09 14:22:05")).toBe("2026-08-09T14:22:05.000Z")
    expect(toStixTimestamp("2026-08-09T14:22:05")).toBe("2026-08-09T14:22:05.000Z")
    expect(toStixTimestamp("2026-08-09T14:22")).toBe("2026-08-09T14:22:00.000Z")
    expect(toStixTimestamp("2026-08-09T14:22:05.5Z")).toBe("2026-08-09T14:22:05.500Z")
    expect(toStixTimestamp("2026-08-09T14:22:05.123456Z")).toBe("2026-08-09T14:22:05.123Z")
    expect(toStixTimestamp("2026-08-09T14:22:05z")).toBe("2026-08-09T14:22:05.000Z")
    expect(toStixTimestamp(" 2026-08-09T14:22:05+00:00 ")).toBe("2026-08-09T14:22:05.000Z")
  })

  it("converts zone offsets to UTC, across a day boundary", () => {
    expect(toStixTimestamp("2026-08-18T01:30:00+02:00")).toBe("2026-08-17T23:30:00.000Z")
    expect(toStixTimestamp("2026-12-31T22:00:00-0230")).toBe("2027-01-01T00:30:00.000Z")
    expect(toStixTimestamp("2026-08-18T10:00:00.250-05")).toBe("2026-08-18T15:00:00.250Z")
  })

  it("rejects malformed and impossible dates", () => {
    const invalid = [
      "",
      "yesterday",
      "18/08/2026",
      "2026-8-18",
      "2026-13-01",
      "2026-00-10",
      "2026-02-29",
      "2026-04-31",
      "2026-08-18T24:00:00Z",
      "2026-08-18T23:60:00Z",
      "2026-08-18T23:59:60Z",
      "2026-08-18T10:00:00+25:00",
      "2026-08-18T10:00:00Zjunk",
      "2026-08-32T00:00:00Z"
    ]
    expect(invalid.map(toStixTimestamp)).toEqual(invalid.map(() => undefined))
  })

  it("knows leap years", () => {
    expect(toStixTimestamp("2028-02-29")).toBe("2028-02-29T00:00:00.000Z")
    expect(toStixTimestamp("2000-02-29T00:00:00Z")).toBe("2000-02-29T00:00:00.000Z")
    expect(toStixTimestamp("2100-02-29")).toBe(undefined)
  })
})

describe("decodeBreachRecord", () => {
  it("decodes every fixture record, keeping all fields in order", () => {
    const records = page.results.map(decoded)
    expect(records.map((record) => [record.documentId, record.publishedAt, record.severity]))
      .toEqual([
        ["6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c", "2026-08-18T00:00:00.000Z", 20],
        ["0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "2026-08-18T00:00:00.000Z", 20],
        ["b3c4d5e6-f708-4192-a3b4-c5d6e7f80912", "2026-08-18T00:00:00.000Z", 5],
        ["d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6", "2026-08-18T00:00:00.000Z", 2],
        ["7c8d9e0f-1a2b-4c3d-9e4f-5a6b7c8d9e0f", "2026-08-17T00:00:00.000Z", 25]
      ])
    expect(records.map((record) => record.sourceId)).toEqual([90001, 90001, 90001, 90001, 90002])
    expect(records[4]!.fields).toBe(page.results[4])
    expect(Object.keys(records[4]!.fields)).toEqual(Object.keys(page.results[4]!))
  })

  it("reads numeric strings and ignores non-numbers for severity and source_id", () => {
    const fromStrings = decoded({ ...valid, severity: " 26 ", source_id: "90002" })
    expect([fromStrings.severity, fromStrings.sourceId]).toEqual([26, 90002])
    const fromJunk = decoded({ ...valid, severity: "high", source_id: null })
    expect([fromJunk.severity, fromJunk.sourceId]).toEqual([undefined, undefined])
    const fromNothing = decoded(valid)
    expect([fromNothing.severity, fromNothing.sourceId]).toEqual([undefined, undefined])
    expect(decoded({ ...valid, severity: Number.NaN }).severity).toBe(undefined)
  })

  it("keeps unknown fields", () => {
    const raw = { ...valid, brand_new_field: { nested: [1, 2] } }
    expect(decoded(raw).fields).toEqual(raw)
  })

  it("rejects what is not an object", () => {
    expect(rejection(null)).toEqual({
      documentId: undefined,
      reason: "the record is null, not a JSON object"
    })
    expect(rejection([valid])).toEqual({
      documentId: undefined,
      reason: "the record is an array, not a JSON object"
    })
    expect(rejection("x")).toEqual({
      documentId: undefined,
      reason: "the record is a string, not a JSON object"
    })
  })

  it("rejects a record without a usable document_id", () => {
    expect(rejection({ spycloud_publish_date: "2026-08-18T00:00:00Z" })).toEqual({
      documentId: undefined,
      reason: "the record has no usable document_id (missing)"
    })
    expect(rejection({ ...valid, document_id: "  " })).toEqual({
      documentId: undefined,
      reason: "the record has no usable document_id (empty or masked)"
    })
    expect(rejection({ ...valid, document_id: 42 })).toEqual({
      documentId: undefined,
      reason: "the record has no usable document_id (a number instead of a string)"
    })
  })

  it("rejects a record without a usable publish date, naming its document id", () => {
    const documentId = valid.document_id
    expect(rejection({ document_id: documentId })).toEqual({
      documentId,
      reason: "the record has no usable spycloud_publish_date (missing)"
    })
    expect(rejection({ ...valid, spycloud_publish_date: "n/a" })).toEqual({
      documentId,
      reason: "the record has no usable spycloud_publish_date (empty or masked)"
    })
    expect(rejection({ ...valid, spycloud_publish_date: 1755475200 })).toEqual({
      documentId,
      reason: "the record has no usable spycloud_publish_date (a number instead of a string)"
    })
    expect(rejection({ ...valid, spycloud_publish_date: "2026-02-30" })).toEqual({
      documentId,
      reason: "the record's spycloud_publish_date \"2026-02-30\" is not a valid date"
    })
  })
})

describe("decodeCatalogEntry", () => {
  it("decodes both catalog shapes", () => {
    const newer = decodeCatalogEntry(catalog["90001"]!.results[0])
    expect(newer && [newer.id, newer.title, newer.uuid]).toEqual([
      90001,
      "Example Forum Combolist",
      "3f1c2a9e-5b7d-4c1e-9a2f-0d6e8b4c7a11"
    ])
    expect(newer?.fields).toBe(catalog["90001"]!.results[0])
    const older = decodeCatalogEntry(catalog["90002"]!.results[0])
    expect(older && [older.id, older.title, older.uuid]).toEqual([
      90002,
      "Example Stealer Logs",
      "8b2e4f60-1c3d-4e5f-8a9b-7c6d5e4f3a22"
    ])
  })

  it("needs only an integer id", () => {
    expect(decodeCatalogEntry({ id: "90003" })).toEqual({
      id: 90003,
      title: undefined,
      uuid: undefined,
      fields: { id: "90003" }
    })
    expect(decodeCatalogEntry({ id: 7, title: "", uuid: "n/a" })).toEqual({
      id: 7,
      title: undefined,
      uuid: undefined,
      fields: { id: 7, title: "", uuid: "n/a" }
    })
  })

  it("refuses entries without an integer id", () => {
    const invalid = [undefined, null, [], {}, { id: 1.5 }, { id: "abc" }, { id: null }]
    expect(invalid.map(decodeCatalogEntry)).toEqual(invalid.map(() => undefined))
  })
})
