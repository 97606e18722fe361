import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { v5 } from "uuid"
import {
  bundleId,
  canonicalText,
  identityId,
  idNamespace,
  incidentId,
  relationshipId,
  scoId,
  uuidV5,
  valueScoId
} from "../src/StixIds.js"

interface Vector {
  readonly type: string
  readonly properties: Readonly<Record<string, unknown>>
  readonly expected_id: string
  readonly source: string
}

const vectors = JSON.parse(
  readFileSync(new URL("../../shared/stix-id-vectors.json", import.meta.url), "utf8")
) as ReadonlyArray<Vector>

const idOf = ({ properties, type }: Vector): string => {
  const text = (name: string) => properties[name] as string
  switch (type) {
    case "incident":
      return incidentId(text("name"), text("created"))
    case "identity":
      return identityId(text("name"), text("identity_class"))
    case "relationship": {
      const start = properties["start_time"] as string | undefined
      const stop = properties["stop_time"] as string | undefined
      return relationshipId(
        text("relationship_type"),
        text("source_ref"),
        text("target_ref"),
        ...(start === undefined ? [] : stop === undefined ? [start] : [start, stop])
      )
    }
    default:
      return scoId(type, properties)
  }
}

describe("published id vectors", () => {
  it("has vectors of every kind the converter uses", () => {
    expect(vectors.length).toBe(30)
    expect(new Set(vectors.map((vector) => vector.type))).toEqual(
      new Set([
        "domain-name",
        "mac-addr",
        "file",
        "directory",
        "ipv4-addr",
        "ipv6-addr",
        "url",
        "user-account",
        "email-addr",
        "incident",
        "identity",
        "relationship"
      ])
    )
  })

  for (const vector of vectors) {
    it(`${vector.type} ${JSON.stringify(vector.properties).slice(0, 80)}`, () => {
      expect(idOf(vector)).toBe(vector.expected_id)
    })
  }

  it("gives the same id from the cache as on first computation", () => {
    for (const vector of vectors) expect(idOf(vector)).toBe(vector.expected_id)
  })
})

describe("uuidV5", () => {
  it("agrees with uuid's v5 on ASCII, non-ASCII and long texts", () => {
    const texts = ["", "{\"value\":\"a\"}", "{\"value\":\"español 𝄞 日本\"}", "x".repeat(70_000)]
    expect(texts.map(uuidV5)).toEqual(texts.map((text) => v5(text, idNamespace)))
  })
})

describe("scoId", () => {
  it("uses value alone for value observables, ignoring other properties", () => {
    expect(scoId("email-addr", { value: "test@test.com", display_name: "Test" })).toBe(
      "email-addr--78b7af49-a1ce-5776-90fd-e6dd8629ec61"
    )
    expect(valueScoId("email-addr", "test@test.com")).toBe(
      "email-addr--78b7af49-a1ce-5776-90fd-e6dd8629ec61"
    )
    expect(scoId("user-agent", { value: "Mozilla/5.0" })).toBe(
      "user-agent--" + v5("{\"value\":\"Mozilla/5.0\"}", idNamespace)
    )
  })

  it("writes values exactly as JSON does, escapes included", () => {
    const values = [
      "plain",
      "quote\"back\\slash",
      "tab\tnew\nline\u0001",
      "𝄞 pair",
      "lone \ud800",
      "ü"
    ]
    expect(values.map((value) => valueScoId("url", value))).toEqual(
      values.map((value) => "url--" + v5(`{"value":${JSON.stringify(value)}}`, idNamespace))
    )
  })

  it("keeps one hash, MD5 first, for a file", () => {
    const hashes = { "SHA-512": "d", "SHA-256": "c", "SHA-1": "b", MD5: "a" }
    expect(scoId("file", { hashes, name: "x.exe" })).toBe(
      "file--" + v5("{\"hashes\":{\"MD5\":\"a\"},\"name\":\"x.exe\"}", idNamespace)
    )
    expect(scoId("file", { hashes: { "SHA-512": "d", "SHA-1": "b" } })).toBe(
      "file--" + v5("{\"hashes\":{\"SHA-1\":\"b\"}}", idNamespace)
    )
    expect(scoId("file", { hashes: { "SHA3-256": "e" } })).toBe(
      "file--" + v5("{\"hashes\":{\"SHA3-256\":\"e\"}}", idNamespace)
    )
  })

  it("combines name and parent directory for a file", () => {
    const parent = "directory--" + v5("{\"path\":\"C:\\\\Temp\"}", idNamespace)
    expect(scoId("directory", { path: "C:\\Temp" })).toBe(parent)
    expect(scoId("file", { name: "setup.exe", parent_directory_ref: parent, size: 4 })).toBe(
      "file--" +
        v5(`{"name":"setup.exe","parent_directory_ref":"${parent}"}`, idNamespace)
    )
  })

  it("uses the user-account properties that are present", () => {
    expect(scoId("user-account", { account_login: "jdoe", display_name: "J" })).toBe(
      "user-account--" + v5("{\"account_login\":\"jdoe\"}", idNamespace)
    )
  })

  it("refuses an observable without id properties", () => {
    expect(() => scoId("directory", { path_enc: "utf-8" })).toThrow(
      "A directory needs one of path to get a deterministic id"
    )
  })
})

describe("incident and identity", () => {
  it("lower-cases and trims names", () => {
    expect(incidentId("  Incident ", "2022-11-25T19:00:05.000Z")).toBe(
      "incident--0e117c15-0a94-5ad3-b090-0395613f5b29"
    )
    expect(identityId(" JULIEN", "INDIVIDUAL")).toBe(
      "identity--d969b177-497f-598d-8428-b128c8f5f819"
    )
  })

  it("hashes created exactly as given", () => {
    expect(incidentId("incident", "2022-11-25T19:00:05Z")).not.toBe(
      incidentId("incident", "2022-11-25T19:00:05.000Z")
    )
  })
})

describe("relationshipId", () => {
  it("ignores a stop time without a start time", () => {
    expect(relationshipId("based-on", "from_id", "to_id", undefined, "2022-11-26T19:00:05.000Z"))
      .toBe("relationship--0b11fa67-da01-5d34-9864-67d4d71c3740")
  })
})

describe("bundleId", () => {
  it("hashes the canonical JSON of the sorted, distinct ids", () => {
    const ids = ["url--b", "identity--a", "marking-definition--c"]
    expect(bundleId(ids)).toBe(
      "bundle--" +
        v5("[\"identity--a\",\"marking-definition--c\",\"url--b\"]", idNamespace)
    )
    expect(bundleId([...ids].reverse())).toBe(bundleId(ids))
    expect(bundleId([...ids, "url--b"])).toBe(bundleId(ids))
    expect(bundleId(["identity--a"])).not.toBe(bundleId(ids))
  })
})

describe("canonicalText", () => {
  it("sorts keys and follows RFC 8785 for nested values and numbers", () => {
    expect(canonicalText({ b: "2", a: "1\n\"" })).toBe("{\"a\":\"1\\n\\\"\",\"b\":\"2\"}")
    expect(canonicalText({ b: { d: 1e21, c: 1.5 }, a: [true, null] })).toBe(
      "{\"a\":[true,null],\"b\":{\"c\":1.5,\"d\":1e+21}}"
    )
  })
})
