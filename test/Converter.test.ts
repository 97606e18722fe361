import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { readFileSync } from "node:fs"
import { v5 } from "uuid"
import type { BreachRecord, CatalogEntry } from "../src/BreachRecord.js"
import {
  decodeBreachRecord,
  decodeCatalogEntry,
  documentedSeverityCodes
} from "../src/BreachRecord.js"
import type { ConversionSettings } from "../src/ConnectorConfig.js"
import { Converter, layer, make } from "../src/Converter.js"
import { isSecretField } from "../src/Converter/Description.js"
import type { StixObject } from "../src/Stix.js"
import { validateBundle, validateStixObject } from "./support/stixSchemas.js"

const namespace = "00abedb4-aa42-466c-9c01-fed23315a9b7"
const uuid5 = (text: string) => v5(text, namespace)
const valueId = (type: string, value: string) => `${type}--${uuid5(JSON.stringify({ value }))}`

const fixtures = new URL("../../shared/fixtures/", import.meta.url)
const page = JSON.parse(readFileSync(new URL("watchlist-page.json", fixtures), "utf8")) as {
  readonly results: ReadonlyArray<Record<string, unknown>>
}
const catalogResponses = JSON.parse(
  readFileSync(new URL("catalog-responses.json", fixtures), "utf8")
) as Readonly<Record<string, { readonly results: ReadonlyArray<unknown> }>>

const catalogOf = (sourceId: number | undefined): CatalogEntry | undefined =>
  sourceId === undefined
    ? undefined
    : decodeCatalogEntry(catalogResponses[String(sourceId)]?.results[0])

const record = (raw: Record<string, unknown>): BreachRecord => {
  const decoded = decodeBreachRecord(raw)
  if (Either.isLeft(decoded)) throw new Error(decoded.left.reason)
  return decoded.right
}

const fixtureRecords = page.results.map(record)

const settings: ConversionSettings = {
  connectorName: "SpyCloud",
  tlpLevel: "amber",
  includeSecrets: false
}
const converter = make(settings)

const authorId = `identity--${uuid5("{\"identity_class\":\"organization\",\"name\":\"spycloud\"}")}`
const amberId = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"

const minimal = {
  document_id: "0123456789abcdef",
  spycloud_publish_date: "2026-08-18T00:00:00Z",
  severity: 20
}

/** Converts one raw record (without a catalog entry unless given). */
const convert = (
  raw: Record<string, unknown>,
  catalog?: CatalogEntry,
  with_: ConversionSettings = settings
) => make(with_).convert(record(raw), catalog)

const incidentOf = (objects: ReadonlyArray<StixObject>) =>
  objects.find((object) => object.type === "incident")!

const observablesOf = (objects: ReadonlyArray<StixObject>) =>
  objects.filter((object) => object.type !== "incident" && object.type !== "relationship")

/** The observables as `type value`, without the common properties. */
const summary = (objects: ReadonlyArray<StixObject>) =>
  observablesOf(objects).map((object) =>
    `${object.type} ${
      String(object["value"] ?? object["account_login"] ?? object["path"] ?? object["name"])
    }`
  )

const scoCommon = {
  spec_version: "2.1",
  x_opencti_created_by_ref: authorId,
  object_marking_refs: [amberId]
}

describe("author and marking", () => {
  it("attributes everything to an organization named after the connector, with fixed dates", () => {
    expect(converter.author).toEqual({
      type: "identity",
      spec_version: "2.1",
      id: "identity--115e787b-4b83-59ef-b350-aeb7b1736c74",
      created: "2017-01-20T00:00:00.000Z",
      modified: "2017-01-20T00:00:00.000Z",
      name: "SpyCloud",
      identity_class: "organization",
      description: "Breach records imported from SpyCloud."
    })
    expect(converter.author.id).toBe(authorId)
    expect(make({ ...settings, connectorName: "Acme SpyCloud" }).author.id).toBe(
      `identity--${uuid5("{\"identity_class\":\"organization\",\"name\":\"acme spycloud\"}")}`
    )
  })

  it("uses the platform's static TLP definitions, clear being white", () => {
    const marking = (tlpLevel: ConversionSettings["tlpLevel"]) =>
      make({ ...settings, tlpLevel }).marking
    const tlp = (id: string, name: string) => ({
      type: "marking-definition",
      spec_version: "2.1",
      id: `marking-definition--${id}`,
      created: "2017-01-20T00:00:00.000Z",
      definition_type: "tlp",
      name: `TLP:${name.toUpperCase()}`,
      definition: { tlp: name }
    })
    expect(marking("white")).toEqual(tlp("613f2e26-407d-48c7-9eca-b8e91df99dc9", "white"))
    expect(marking("clear")).toEqual(tlp("613f2e26-407d-48c7-9eca-b8e91df99dc9", "white"))
    expect(marking("green")).toEqual(tlp("34098fce-860f-48ae-8e50-ebd3cc5e41da", "green"))
    expect(marking("amber")).toEqual(tlp("f88d31f6-486f-44da-b317-01333bde0b82", "amber"))
    expect(marking("red")).toEqual(tlp("5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "red"))
    expect(marking("amber+strict")).toEqual({
      type: "marking-definition",
      spec_version: "2.1",
      id: "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
      created: "2017-01-20T00:00:00.000Z",
      definition_type: "statement",
      definition: { statement: "custom" },
      x_opencti_definition_type: "TLP",
      x_opencti_definition: "TLP:AMBER+STRICT"
    })
  })

  it("writes valid markings for every level", () => {
    const levels = ["white", "clear", "green", "amber", "amber+strict", "red"] as const
    const problems = levels.flatMap((tlpLevel) => [
      ...validateStixObject(make({ ...settings, tlpLevel }).marking),
      ...validateStixObject(make({ ...settings, tlpLevel }).author)
    ])
    expect(problems).toEqual([])
  })
})

describe("the fixture page", () => {
  const conversions = fixtureRecords.map((each) =>
    converter.convert(each, catalogOf(each.sourceId))
  )
  const bundle = converter.bundle(conversions.flatMap((conversion) => conversion.objects))

  it("gives a bundle in which every object is valid STIX 2.1", () => {
    expect(validateBundle(bundle)).toEqual([])
    expect(bundle.objects.flatMap(validateStixObject)).toEqual([])
  })

  it("drops nothing and warns about nothing", () => {
    expect(conversions.map((conversion) => [conversion.dropped, conversion.warnings])).toEqual(
      fixtureRecords.map(() => [[], []])
    )
  })

  it("gives the incidents the ids they always had", () => {
    expect(conversions.map((conversion) => incidentOf(conversion.objects).id)).toEqual([
      "incident--a5b50428-6a9e-5e6a-9ca4-03495483c794",
      "incident--e542fbba-1c42-5e2c-9c9c-188a36bc7a1b",
      "incident--d3243542-dae4-5da4-a2b1-4b168e2540cc",
      "incident--b8769064-cd0b-5c7a-9b06-5ab8ddbedb95",
      "incident--83efd092-43b3-515e-84fa-9f96637d3b49"
    ])
  })

  it("names each incident after its level, identifier and document id", () => {
    expect(conversions.map((conversion) => incidentOf(conversion.objects)["name"])).toEqual([
      "SpyCloud high alert on avery.quill@example.com [6f1d2c3b]",
      "SpyCloud high alert on avery.quill@example.com [0a9b8c7d]",
      "SpyCloud medium alert on morgan.vale@example.com [b3c4d5e6]",
      "SpyCloud low alert on sam.rowe@example.org [d1e2f3a4]",
      "SpyCloud critical alert on examplecorp\\jdoe-demo [7c8d9e0f]"
    ])
  })

  it("maps the first record to exactly this incident", () => {
    const name = "SpyCloud high alert on avery.quill@example.com [6f1d2c3b]"
    expect(incidentOf(conversions[0]!.objects)).toEqual({
      type: "incident",
      spec_version: "2.1",
      id: `incident--${
        uuid5(`{"created":"2026-08-18T00:00:00.000Z","name":${JSON.stringify(name.toLowerCase())}}`)
      }`,
      created: "2026-08-18T00:00:00.000Z",
      modified: "2026-08-18T00:00:00.000Z",
      name,
      description: [
        "| Field | Value |",
        "| --- | --- |",
        "| email | avery.quill@example.com |",
        "| password | (withheld) |",
        "| target_url | https://forum.example.org/login |",
        "| source_id | 90001 |",
        "| spycloud_publish_date | 2026-08-18T00:00:00Z |",
        "| email_domain | example.com |",
        "| email_username | avery.quill |",
        "| domain | example.com |",
        "| target_domain | example.org |",
        "| target_subdomain | forum.example.org |",
        "| password_type | plaintext |",
        "| password_plaintext | (withheld) |",
        "| severity | 20 |",
        "| document_id | 6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c |",
        "| sighting | 3 |"
      ].join("\n"),
      incident_type: "data-breach",
      severity: "high",
      source: "Example Forum Combolist",
      first_seen: "2026-08-18T00:00:00.000Z",
      created_by_ref: authorId,
      object_marking_refs: [amberId],
      external_references: [
        { source_name: "SpyCloud", external_id: "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c" },
        {
          source_name: "SpyCloud breach catalog",
          external_id: "90001",
          url: "https://portal.spycloud.com/breach/catalog/3f1c2a9e-5b7d-4c1e-9a2f-0d6e8b4c7a11"
        }
      ]
    })
  })

  it("maps the first record's observables, each related to the incident", () => {
    const objects = conversions[0]!.objects
    const incident = incidentOf(objects)
    const email = valueId("email-addr", "avery.quill@example.com")
    const url = valueId("url", "https://forum.example.org/login")
    const domain = valueId("domain-name", "example.org")
    const subdomain = valueId("domain-name", "forum.example.org")
    expect(objects.slice(1, 5)).toEqual([
      { type: "email-addr", ...scoCommon, id: email, value: "avery.quill@example.com" },
      { type: "url", ...scoCommon, id: url, value: "https://forum.example.org/login" },
      { type: "domain-name", ...scoCommon, id: domain, value: "example.org" },
      { type: "domain-name", ...scoCommon, id: subdomain, value: "forum.example.org" }
    ])
    expect(objects.slice(5)).toEqual(
      [email, url, domain, subdomain].map((source) => ({
        type: "relationship",
        spec_version: "2.1",
        id: `relationship--${
          uuid5(
            `{"relationship_type":"related-to","source_ref":"${source}","target_ref":"${incident.id}"}`
          )
        }`,
        created: "2026-08-18T00:00:00.000Z",
        modified: "2026-08-18T00:00:00.000Z",
        relationship_type: "related-to",
        source_ref: source,
        target_ref: incident.id,
        created_by_ref: authorId,
        object_marking_refs: [amberId]
      }))
    )
  })

  it("adds http:// to the scheme-less URL of the second record", () => {
    expect(summary(conversions[1]!.objects)).toEqual([
      "email-addr avery.quill@example.com",
      "url http://login.example.net/account",
      "domain-name example.net",
      "domain-name login.example.net"
    ])
  })

  it("uses the later record_modification_date of the third record as modified", () => {
    const incident = incidentOf(conversions[2]!.objects)
    expect([incident["created"], incident["modified"], incident["first_seen"]]).toEqual([
      "2026-08-18T00:00:00.000Z",
      "2026-08-20T00:00:00.000Z",
      "2026-08-18T00:00:00.000Z"
    ])
  })

  it("gives the email its display name", () => {
    expect(observablesOf(conversions[2]!.objects)).toEqual([
      {
        type: "email-addr",
        ...scoCommon,
        id: valueId("email-addr", "morgan.vale@example.com"),
        value: "morgan.vale@example.com",
        display_name: "Morgan Vale"
      }
    ])
  })

  it("maps the email-only record to an incident and one observable", () => {
    expect(conversions[3]!.objects.map((object) => object.type)).toEqual([
      "incident",
      "email-addr",
      "relationship"
    ])
  })

  it("maps every observable of the infostealer record", () => {
    const objects = conversions[4]!.objects
    const directory = `directory--${
      uuid5(JSON.stringify({ path: "C:\\Users\\jdoe\\AppData\\Local\\Temp" }))
    }`
    expect(observablesOf(objects)).toEqual([
      {
        type: "user-account",
        ...scoCommon,
        id: `user-account--${uuid5(JSON.stringify({ account_login: "examplecorp\\jdoe-demo" }))}`,
        account_login: "examplecorp\\jdoe-demo"
      },
      {
        type: "user-account",
        ...scoCommon,
        id: `user-account--${uuid5(JSON.stringify({ account_login: "DESKTOP-DEMO01" }))}`,
        account_login: "DESKTOP-DEMO01"
      },
      {
        type: "url",
        ...scoCommon,
        id: valueId("url", "https://sso.example.com/auth/login"),
        value: "https://sso.example.com/auth/login"
      },
      {
        type: "domain-name",
        ...scoCommon,
        id: "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7",
        value: "example.com"
      },
      {
        type: "domain-name",
        ...scoCommon,
        id: valueId("domain-name", "sso.example.com"),
        value: "sso.example.com"
      },
      {
        type: "ipv4-addr",
        ...scoCommon,
        id: valueId("ipv4-addr", "198.51.100.23"),
        value: "198.51.100.23"
      },
      {
        type: "ipv6-addr",
        ...scoCommon,
        id: valueId("ipv6-addr", "2001:db8::1f"),
        value: "2001:db8::1f"
      },
      {
        type: "mac-addr",
        ...scoCommon,
        id: valueId("mac-addr", "00:00:5e:00:53:2a"),
        value: "00:00:5e:00:53:2a"
      },
      {
        type: "directory",
        ...scoCommon,
        id: directory,
        path: "C:\\Users\\jdoe\\AppData\\Local\\Temp"
      },
      {
        type: "file",
        ...scoCommon,
        id: `file--${uuid5(`{"name":"setup_demo.exe","parent_directory_ref":"${directory}"}`)}`,
        name: "setup_demo.exe",
        parent_directory_ref: directory
      },
      {
        type: "user-agent",
        ...scoCommon,
        id: valueId("user-agent", page.results[4]!["user_agent"] as string),
        value: page.results[4]!["user_agent"]
      }
    ])
    expect(
      objects.filter((object) => object.type === "relationship").map((object) =>
        object["source_ref"]
      )
    )
      .toEqual(observablesOf(objects).map((object) => object.id))
  })

  it("describes the infostealer record with escaping, joined arrays and secrets withheld", () => {
    const description = incidentOf(conversions[4]!.objects)["description"] as string
    const rows = description.split("\n")
    expect(rows.slice(0, 5)).toEqual([
      "| Field | Value |",
      "| --- | --- |",
      "| username | examplecorp\\\\jdoe-demo |",
      "| password | (withheld) |",
      "| password_plaintext | (withheld) |"
    ])
    expect(rows).toContain("| password_type | plaintext |")
    expect(rows).toContain(
      "| infected_path | C:\\\\Users\\\\jdoe\\\\AppData\\\\Local\\\\Temp\\\\setup_demo.exe |"
    )
    expect(rows).toContain(
      "| keyboard_languages | english (united states) \\| español (méxico) \\| |"
    )
    expect(rows).toContain("| av_softwares | Windows Defender |")
    expect(rows).toContain("| ip_addresses | 198.51.100.23, 2001:db8::1f |")
    expect(rows.length).toBe(2 + Object.keys(page.results[4]!).length)
    expect(description).not.toContain("Summer#Demo42")
  })

  it("falls back to the source id when the catalog entry is unknown", () => {
    const incident = incidentOf(converter.convert(fixtureRecords[4]!, undefined).objects)
    expect([incident["source"], incident["external_references"]]).toEqual([
      "SpyCloud source 90002",
      [{ source_name: "SpyCloud", external_id: "7c8d9e0f-1a2b-4c3d-9e4f-5a6b7c8d9e0f" }]
    ])
  })

  it("is deterministic: two converters give byte-identical bundles", () => {
    const again = make(settings)
    const second = again.bundle(
      fixtureRecords.flatMap((each) => again.convert(each, catalogOf(each.sourceId)).objects)
    )
    expect(JSON.stringify(second)).toBe(JSON.stringify(bundle))
  })

  it("puts the author and the marking first and every id once", () => {
    expect(bundle.objects.slice(0, 2)).toEqual([converter.author, converter.marking])
    const ids = bundle.objects.map((object) => object.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.length).toBe(
      2 + new Set(conversions.flatMap((conversion) => conversion.objects.map((o) => o.id))).size
    )
    expect(bundle.id).toBe(`bundle--${uuid5(JSON.stringify([...ids].sort()))}`)
  })
})

describe("severity", () => {
  const severityOf = (severity: unknown) => {
    const conversion = convert({ ...minimal, severity })
    const incident = incidentOf(conversion.objects)
    return [
      incident["severity"],
      (incident["name"] as string).split(" alert")[0],
      conversion.warnings
    ]
  }

  it("maps the documented codes", () => {
    expect([2, 5, 20, 25, 26, 30].map(severityOf)).toEqual([
      ["low", "SpyCloud low", []],
      ["medium", "SpyCloud medium", []],
      ["high", "SpyCloud high", []],
      ["critical", "SpyCloud critical", []],
      ["critical", "SpyCloud critical", []],
      ["critical", "SpyCloud critical", []]
    ])
  })

  it("maps unknown codes by threshold, with a warning", () => {
    const warning = (code: number, level: string) => [
      `SpyCloud severity code ${code} is not one of the documented codes (2, 5, 20, 25, 26, 30); ` +
      `its records are imported as ${level} incidents`
    ]
    expect([1, 4, 7, 19, 21, 24, 27, 99].map(severityOf)).toEqual([
      ["low", "SpyCloud low", warning(1, "low")],
      ["low", "SpyCloud low", warning(4, "low")],
      ["medium", "SpyCloud medium", warning(7, "medium")],
      ["medium", "SpyCloud medium", warning(19, "medium")],
      ["high", "SpyCloud high", warning(21, "high")],
      ["high", "SpyCloud high", warning(24, "high")],
      ["critical", "SpyCloud critical", warning(27, "critical")],
      ["critical", "SpyCloud critical", warning(99, "critical")]
    ])
  })

  it("lists the documented codes in the warning as BreachRecord documents them", () => {
    const codes = documentedSeverityCodes as Array<number>
    codes.push(40)
    try {
      expect([severityOf(40), severityOf(41)]).toEqual([
        ["critical", "SpyCloud critical", []],
        ["critical", "SpyCloud critical", [
          "SpyCloud severity code 41 is not one of the documented codes " +
          "(2, 5, 20, 25, 26, 30, 40); its records are imported as critical incidents"
        ]]
      ])
    } finally {
      codes.pop()
    }
  })

  it("reads a numeric string and leaves a missing severity out, with a warning", () => {
    expect(severityOf("25")).toEqual(["critical", "SpyCloud critical", []])
    const conversion = convert({
      document_id: "0123456789abcdef",
      spycloud_publish_date: "2026-08-18"
    })
    const incident = incidentOf(conversion.objects)
    expect([incident["severity"], incident["name"], conversion.warnings]).toEqual([
      undefined,
      "SpyCloud alert on 0123456789abcdef [01234567]",
      ["A breach record has no usable severity code; its incident has no severity"]
    ])
    expect("severity" in incident).toBe(false)
    expect(validateStixObject(incident)).toEqual([])
  })
})

describe("incident", () => {
  it("identifies the record by email, else username, else first IP, else document id", () => {
    const nameOf = (raw: Record<string, unknown>) =>
      incidentOf(convert({ ...minimal, ...raw }).objects)["name"]
    expect([
      nameOf({ email: " a@example.com ", username: "alice", ip_addresses: ["192.0.2.1"] }),
      nameOf({ email: "********", username: "alice", ip_addresses: ["192.0.2.1"] }),
      nameOf({ username: "n/a", ip_addresses: "192.0.2.7, 192.0.2.8" }),
      nameOf({ ip_addresses: ["", "2001:db8::2"] }),
      nameOf({ ip_addresses: [] }),
      nameOf({ email: "not-an-email" })
    ]).toEqual([
      "SpyCloud high alert on a@example.com [01234567]",
      "SpyCloud high alert on alice [01234567]",
      "SpyCloud high alert on 192.0.2.7 [01234567]",
      "SpyCloud high alert on 2001:db8::2 [01234567]",
      "SpyCloud high alert on 0123456789abcdef [01234567]",
      "SpyCloud high alert on 0123456789abcdef [01234567]"
    ])
  })

  it("names the incident after validated values only", () => {
    const nameOf = (raw: Record<string, unknown>) =>
      incidentOf(convert({ ...minimal, ...raw }).objects)["name"]
    expect([
      nameOf({ email: "not-an-email", username: " alice ", ip_addresses: ["192.0.2.1"] }),
      nameOf({ email: "a b@example.com", username: ["alice"], ip_addresses: ["192.0.2.1"] }),
      nameOf({ ip_addresses: ["01.02.03.04", "198.51.100.2"] }),
      nameOf({ ip_addresses: "192.0.2.256, ::ffff:192.0.2.1, 2001:db8::9" }),
      nameOf({ email: "@", username: 7, ip_addresses: ["999.1.1.1", 4] })
    ]).toEqual([
      "SpyCloud high alert on alice [01234567]",
      "SpyCloud high alert on 192.0.2.1 [01234567]",
      "SpyCloud high alert on 198.51.100.2 [01234567]",
      "SpyCloud high alert on 2001:db8::9 [01234567]",
      "SpyCloud high alert on 0123456789abcdef [01234567]"
    ])
  })

  it("keeps the name on one line, without control characters", () => {
    const incident = incidentOf(
      convert({ ...minimal, username: "ali\u0000ce\r\n\tsmith \u2028 jr\u007f\u0085" }).objects
    )
    expect([incident["name"], incident.id]).toEqual([
      "SpyCloud high alert on alice smith jr [01234567]",
      `incident--${
        uuid5(
          JSON.stringify({
            created: "2026-08-18T00:00:00.000Z",
            name: "spycloud high alert on alice smith jr [01234567]"
          })
        )
      }`
    ])
    expect(
      incidentOf(
        convert({ ...minimal, document_id: "ab\u0007cd\nefgh-1", username: "\u0001\u0002" })
          .objects
      )["name"]
    ).toBe("SpyCloud high alert on abcd efgh-1 [abcd ef]")
  })

  it("cuts a long identifier to 200 characters, keeping the document id's head", () => {
    const nameOf = (username: string) =>
      incidentOf(convert({ ...minimal, username }).objects)["name"] as string
    expect(nameOf("a".repeat(200))).toBe(`SpyCloud high alert on ${"a".repeat(200)} [01234567]`)
    expect(nameOf("a".repeat(201))).toBe(`SpyCloud high alert on ${"a".repeat(199)}… [01234567]`)
    expect(nameOf("b".repeat(198) + " " + "c".repeat(50))).toBe(
      `SpyCloud high alert on ${"b".repeat(198)}… [01234567]`
    )
    expect(nameOf("d".repeat(197) + "😀".repeat(10))).toBe(
      `SpyCloud high alert on ${"d".repeat(197)}😀… [01234567]`
    )
    expect(nameOf("e".repeat(198) + "😀".repeat(10))).toBe(
      `SpyCloud high alert on ${"e".repeat(198)}… [01234567]`
    )
  })

  it("hashes exactly the created string it carries, in milliseconds", () => {
    const incident = incidentOf(
      convert({ ...minimal, spycloud_publish_date: "2026-08-18T06:30:00+02:00" }).objects
    )
    expect(incident["created"]).toBe("2026-08-18T04:30:00.000Z")
    expect(incident.id).toBe(
      `incident--${
        uuid5(
          JSON.stringify({
            created: "2026-08-18T04:30:00.000Z",
            name: "spycloud high alert on 0123456789abcdef [01234567]"
          })
        )
      }`
    )
  })

  it("keeps created as modified unless record_modification_date is later and valid", () => {
    const timesOf = (record_modification_date: unknown) => {
      const conversion = convert({ ...minimal, record_modification_date })
      const incident = incidentOf(conversion.objects)
      return [incident["modified"], conversion.dropped]
    }
    expect([
      timesOf("2026-08-19"),
      timesOf("2026-08-17T23:59:59Z"),
      timesOf("2026-08-18T00:00:00Z"),
      timesOf(""),
      timesOf("soon")
    ]).toEqual([
      ["2026-08-19T00:00:00.000Z", []],
      ["2026-08-18T00:00:00.000Z", []],
      ["2026-08-18T00:00:00.000Z", []],
      ["2026-08-18T00:00:00.000Z", []],
      ["2026-08-18T00:00:00.000Z", [{
        field: "record_modification_date",
        reason: "not a valid date"
      }]]
    ])
  })

  it("links the catalog entry only when its uuid is known, and names the source", () => {
    const entry = (fields: Record<string, unknown>) => decodeCatalogEntry(fields)!
    const incident = (catalog: CatalogEntry | undefined, raw = minimal) =>
      incidentOf(convert({ ...raw, source_id: 7 }, catalog).objects)
    expect(incident(entry({ id: 7, title: "Seven" }))["external_references"]).toEqual([
      { source_name: "SpyCloud", external_id: "0123456789abcdef" }
    ])
    expect(incident(entry({ id: 7, title: "Seven" }))["source"]).toBe("Seven")
    expect(incident(entry({ id: 7, uuid: "u-1" }))["source"]).toBe("SpyCloud source 7")
    expect(incident(entry({ id: 7, uuid: "u-1" }))["external_references"]).toEqual([
      { source_name: "SpyCloud", external_id: "0123456789abcdef" },
      {
        source_name: "SpyCloud breach catalog",
        external_id: "7",
        url: "https://portal.spycloud.com/breach/catalog/u-1"
      }
    ])
    const withoutSource = incidentOf(convert(minimal).objects)
    expect("source" in withoutSource).toBe(false)
  })
})

describe("description", () => {
  const describeFields = (fields: Record<string, unknown>, includeSecrets = false) =>
    incidentOf(
      convert({ ...minimal, ...fields }, undefined, { ...settings, includeSecrets }).objects
    )[
      "description"
    ]

  it("escapes backslashes, pipes and line breaks, joins arrays and writes objects as JSON", () => {
    expect(
      describeFields({
        note: "a|b\\c\r\nd\ne\rf",
        list: ["x|y", 3, null, "", { k: "v" }],
        empty: [],
        nested: { b: [1, "two"], a: null },
        flag: false,
        masked: "********",
        missing: null,
        "odd|name": "v"
      })
    ).toBe(
      [
        "| Field | Value |",
        "| --- | --- |",
        "| document_id | 0123456789abcdef |",
        "| spycloud_publish_date | 2026-08-18T00:00:00Z |",
        "| severity | 20 |",
        "| note | a\\|b\\\\c<br>d<br>e<br>f |",
        "| list | x\\|y, 3, {\"k\":\"v\"} |",
        "| nested | {\"b\":[1,\"two\"],\"a\":null} |",
        "| flag | false |",
        "| odd\\|name | v |"
      ].join("\n")
    )
  })

  const secrets = {
    password: "p1",
    password_plaintext: "p2",
    salt: "s1",
    cc_number: "4111",
    cc_type: "visa",
    db_password_hash: "h1",
    api_secret: "x1",
    session_token: "t1",
    cookies: "c1",
    ssn_last_four: "1234",
    taxid: "99",
    passport_number: "P1",
    drivers_license_number: "D1",
    iban: "DE00",
    bank_number: "B1",
    password_type: "plaintext",
    token_type: "bearer",
    email: "a@example.com"
  }

  it("withholds every secret field, keeping the kind of secret", () => {
    expect(describeFields(secrets)).toBe(
      [
        "| Field | Value |",
        "| --- | --- |",
        "| document_id | 0123456789abcdef |",
        "| spycloud_publish_date | 2026-08-18T00:00:00Z |",
        "| severity | 20 |",
        ...Object.keys(secrets).map((field) =>
          `| ${field} | ${
            ["password_type", "token_type", "email"].includes(field)
              ? secrets[field as keyof typeof secrets]
              : "(withheld)"
          } |`
        )
      ].join("\n")
    )
  })

  it("shows the secrets when the operator opts in", () => {
    const description = describeFields(secrets, true) as string
    expect(description.split("\n").slice(5)).toEqual(
      Object.entries(secrets).map(([field, value]) => `| ${field} | ${value} |`)
    )
  })

  it("leaves a masked secret out altogether", () => {
    expect(describeFields({ password: "********" })).not.toContain("password")
  })

  it("withholds secrets nested at any depth in objects and arrays", () => {
    const nested = {
      credentials: { password: "NESTED-LEAK-1", password_type: "plaintext", user: "u1" },
      accounts: [{ password: "NESTED-LEAK-2", site: "a.example" }, "plain", [{ pin: "1234" }]],
      profile: { bank: { routing_number: "R1", name: "Example Bank" }, secrets: ["s1", "s2"] },
      devices: [{ token: { value: "T1" } }, { id: 7 }]
    }
    expect(describeFields(nested)).toBe(
      [
        "| Field | Value |",
        "| --- | --- |",
        "| document_id | 0123456789abcdef |",
        "| spycloud_publish_date | 2026-08-18T00:00:00Z |",
        "| severity | 20 |",
        "| credentials | {\"password\":\"(withheld)\",\"password_type\":\"plaintext\",\"user\":\"u1\"} |",
        "| accounts | {\"password\":\"(withheld)\",\"site\":\"a.example\"}, plain, " +
        "[{\"pin\":\"(withheld)\"}] |",
        "| profile | {\"bank\":{\"routing_number\":\"(withheld)\",\"name\":\"Example Bank\"}," +
        "\"secrets\":\"(withheld)\"} |",
        "| devices | {\"token\":\"(withheld)\"}, {\"id\":7} |"
      ].join("\n")
    )
    expect(describeFields(nested, true)).toBe(
      [
        "| Field | Value |",
        "| --- | --- |",
        "| document_id | 0123456789abcdef |",
        "| spycloud_publish_date | 2026-08-18T00:00:00Z |",
        "| severity | 20 |",
        "| credentials | {\"password\":\"NESTED-LEAK-1\",\"password_type\":\"plaintext\",\"user\":\"u1\"} |",
        "| accounts | {\"password\":\"NESTED-LEAK-2\",\"site\":\"a.example\"}, plain, " +
        "[{\"pin\":\"1234\"}] |",
        "| profile | {\"bank\":{\"routing_number\":\"R1\",\"name\":\"Example Bank\"}," +
        "\"secrets\":[\"s1\",\"s2\"]} |",
        "| devices | {\"token\":{\"value\":\"T1\"}}, {\"id\":7} |"
      ].join("\n")
    )
  })

  it("judges field names as whole words for the secrets that have short or common names", () => {
    const names = [
      "cvv",
      "card_cvv2",
      "cvc",
      "pin",
      "PIN",
      "account_pin",
      "pin_code",
      "accountPIN",
      "pinCode",
      "pinterest",
      "social_pinterest",
      "shipping",
      "pinned",
      "spin",
      "pin_type",
      "api_key",
      "apiKey",
      "APIKey",
      "api-key",
      "apikey",
      "rapid_keys",
      "private_key",
      "privateKey",
      "private.key",
      "social_security",
      "social_security_number",
      "socialSecurityNumber",
      "social_media",
      "credit_card",
      "creditCardNumber",
      "card_number",
      "cardNumber",
      "gift_card",
      "card_holder",
      "bank_account",
      "bank_account_number",
      "bankAccount",
      "bank_name",
      "routing_number",
      "routingNumber",
      "security_answer",
      "security_question_answer",
      "securityAnswer",
      "security_question",
      "answer",
      "backup_code",
      "backup_codes",
      "backupCodes",
      "recovery_codes",
      "backup_date",
      "national_id",
      "nationalId",
      "national_id_number",
      "nationality",
      "international_id",
      "passwd",
      "passwordType",
      "infected_machine_id",
      "log_id",
      "user_sys_domain"
    ]
    expect(names.filter(isSecretField)).toEqual([
      "cvv",
      "card_cvv2",
      "cvc",
      "pin",
      "PIN",
      "account_pin",
      "pin_code",
      "accountPIN",
      "pinCode",
      "api_key",
      "apiKey",
      "APIKey",
      "api-key",
      "apikey",
      "private_key",
      "privateKey",
      "private.key",
      "social_security",
      "social_security_number",
      "socialSecurityNumber",
      "credit_card",
      "creditCardNumber",
      "card_number",
      "cardNumber",
      "bank_account",
      "bank_account_number",
      "bankAccount",
      "routing_number",
      "routingNumber",
      "security_answer",
      "security_question_answer",
      "securityAnswer",
      "backup_code",
      "backup_codes",
      "backupCodes",
      "recovery_codes",
      "national_id",
      "nationalId",
      "national_id_number",
      "passwd"
    ])
  })

  it("withholds the newly recognised secret fields in the description", () => {
    const description = describeFields({
      account_pin: "4321",
      shipping: "ground",
      pinterest: "@p",
      cvv: "123"
    }) as string
    expect(description.split("\n").slice(5)).toEqual([
      "| account_pin | (withheld) |",
      "| shipping | ground |",
      "| pinterest | @p |",
      "| cvv | (withheld) |"
    ])
  })
})

describe("observables", () => {
  const observe = (fields: Record<string, unknown>) => {
    const conversion = convert({ ...minimal, ...fields })
    return { observables: summary(conversion.objects), dropped: conversion.dropped }
  }

  it("links the email to the username's account", () => {
    const objects =
      convert({ ...minimal, email: "a@example.com", username: "alice", full_name: " Alice A " })
        .objects
    const account = `user-account--${uuid5("{\"account_login\":\"alice\"}")}`
    expect(observablesOf(objects).slice(0, 2)).toEqual([
      { type: "user-account", ...scoCommon, id: account, account_login: "alice" },
      {
        type: "email-addr",
        ...scoCommon,
        id: valueId("email-addr", "a@example.com"),
        value: "a@example.com",
        display_name: "Alice A",
        belongs_to_ref: account
      }
    ])
  })

  it("drops invalid emails without keeping their value", () => {
    for (const email of ["not-an-email", "a@b", "a b@example.com", "a@@example.com"]) {
      const result = observe({ email })
      expect(result).toEqual({
        observables: [],
        dropped: [{ field: "email", reason: "not a valid email address" }]
      })
      expect(JSON.stringify(result.dropped)).not.toContain(email)
    }
  })

  it("maps the host name to its own account, one object when it equals the username", () => {
    expect(observe({ user_hostname: "HOST-1" }).observables).toEqual(["user-account HOST-1"])
    expect(observe({ username: "same", user_hostname: "same" }).observables).toEqual([
      "user-account same"
    ])
  })

  it("adds a scheme to URLs that lack one and drops malformed ones", () => {
    const urls = {
      "example.com/login": "http://example.com/login",
      "//example.com/x": "http://example.com/x",
      "android://hash@com.example.app/": "android://hash@com.example.app/",
      "HTTPS://Example.com:8443/a?b=c#d": "HTTPS://Example.com:8443/a?b=c#d",
      "https://bücher.example/straße?q=ü": "https://b%C3%BCcher.example/stra%C3%9Fe?q=%C3%BC",
      "https://example.com/a[0]?x={y}|z#f#g": "https://example.com/a%5B0%5D?x=%7By%7D%7Cz#f%23g",
      "http://[2001:db8::1]:8080/": "http://[2001:db8::1]:8080/",
      "localhost:3000/api": "http://localhost:3000/api"
    }
    for (const [raw, value] of Object.entries(urls)) {
      const objects = convert({ ...minimal, target_url: raw }).objects
      expect(observablesOf(objects).map((object) => object["value"])).toEqual([value])
      expect(observablesOf(objects).flatMap(validateStixObject)).toEqual([])
    }
    const malformed = [
      "http://",
      "https://exa mple.com/",
      "http://example.com:80a/",
      "http://example.com\\login",
      "http://example.com/%zz",
      "http://[not-ipv6]/",
      "https://a@b@c/"
    ]
    for (const target_url of malformed) {
      expect(observe({ target_url })).toEqual({
        observables: [],
        dropped: [{ field: "target_url", reason: "not a well-formed URL" }]
      })
    }
  })

  it("makes one domain object when domain and subdomain are equal", () => {
    expect(observe({ target_domain: "example.com", target_subdomain: "example.com" })).toEqual({
      observables: ["domain-name example.com"],
      dropped: []
    })
  })

  it("compares domain and subdomain without case, keeping the first as written", () => {
    const objects = convert({
      ...minimal,
      target_domain: "EXAMPLE.com",
      target_subdomain: "example.COM"
    }).objects
    expect(observablesOf(objects)).toEqual([
      {
        type: "domain-name",
        ...scoCommon,
        id: valueId("domain-name", "EXAMPLE.com"),
        value: "EXAMPLE.com"
      }
    ])
    expect(observe({ target_domain: "Example.com", target_subdomain: "WWW.Example.com" }))
      .toEqual({
        observables: ["domain-name Example.com", "domain-name WWW.Example.com"],
        dropped: []
      })
  })

  it("drops IP addresses and malformed names given as domains", () => {
    expect(
      observe({ target_domain: "192.0.2.1", target_subdomain: "-bad-.example.com" })
    ).toEqual({
      observables: [],
      dropped: [
        { field: "target_domain", reason: "not a valid domain name" },
        { field: "target_subdomain", reason: "not a valid domain name" }
      ]
    })
    expect(observe({ target_domain: "bücher.example" }).observables).toEqual([
      "domain-name bücher.example"
    ])
  })

  it("reads IP addresses from an array or a comma-separated string", () => {
    const expected = {
      observables: ["ipv4-addr 192.0.2.1", "ipv6-addr 2001:db8::1", "ipv4-addr 192.0.2.2"],
      dropped: []
    }
    expect(observe({ ip_addresses: ["192.0.2.1", " 2001:db8::1", "192.0.2.2"] })).toEqual(expected)
    expect(observe({ ip_addresses: "192.0.2.1, 2001:db8::1,192.0.2.2" })).toEqual(expected)
    expect(observe({ ip_addresses: "192.0.2.1,,n/a, 192.0.2.1" })).toEqual({
      observables: ["ipv4-addr 192.0.2.1"],
      dropped: []
    })
  })

  it("drops invalid IP addresses", () => {
    expect(
      observe({
        ip_addresses: [
          "192.0.2.256",
          "01.2.3.4",
          "::ffff:192.0.2.1",
          "fe80::1%eth0",
          7,
          "192.0.2.9"
        ]
      })
    ).toEqual({
      observables: ["ipv4-addr 192.0.2.9"],
      dropped: [
        { field: "ip_addresses", reason: "not a valid IP address" },
        { field: "ip_addresses", reason: "not a valid IP address" },
        { field: "ip_addresses", reason: "not a valid IP address" },
        { field: "ip_addresses", reason: "not a valid IP address" },
        { field: "ip_addresses", reason: "not a text value" }
      ]
    })
  })

  it("writes MAC addresses lower-case and colon-separated", () => {
    for (
      const mac_address of [
        "00-00-5E-00-53-2A",
        "00005E00532A",
        "0000.5e00.532a",
        "00:00:5E:00:53:2a"
      ]
    ) {
      expect(observe({ mac_address }).observables).toEqual(["mac-addr 00:00:5e:00:53:2a"])
    }
    for (const mac_address of ["00:00:5e:00:53", "00:00-5e:00:53:2a", "zz:00:5e:00:53:2a"]) {
      expect(observe({ mac_address })).toEqual({
        observables: [],
        dropped: [{ field: "mac_address", reason: "not a valid MAC address" }]
      })
    }
  })

  it("splits infected paths at the last backslash or slash", () => {
    const paths = {
      "C:\\Users\\jdoe\\run.exe": ["directory C:\\Users\\jdoe", "file run.exe"],
      "/home/jdoe/.cache/run": ["directory /home/jdoe/.cache", "file run"],
      "C:\\Users/jdoe\\mixed/run.exe": ["directory C:\\Users/jdoe\\mixed", "file run.exe"],
      "/run": ["directory /", "file run"],
      "C:\\Temp\\": ["directory C:\\Temp"],
      "run.exe": ["file run.exe"],
      "C:\\Users\\a\\x.exe": ["directory C:\\Users\\a", "file x.exe"],
      "/home/a/x": ["directory /home/a", "file x"],
      "x.exe": ["file x.exe"],
      "C:\\": ["directory C:\\"],
      "C:/": ["directory C:/"],
      "c:\\x.exe": ["directory c:\\", "file x.exe"],
      "/": ["directory /"],
      "\\\\server\\share\\f.txt": ["directory \\\\server\\share", "file f.txt"]
    }
    for (const [infected_path, observables] of Object.entries(paths)) {
      expect(observe({ infected_path })).toEqual({ observables, dropped: [] })
    }
    const lone = observablesOf(convert({ ...minimal, infected_path: "run.exe" }).objects)[0]!
    expect(lone.id).toBe(`file--${uuid5("{\"name\":\"run.exe\"}")}`)

    const root = `directory--${uuid5(JSON.stringify({ path: "C:\\" }))}`
    expect(observablesOf(convert({ ...minimal, infected_path: "C:\\x.exe" }).objects)).toEqual([
      { type: "directory", ...scoCommon, id: root, path: "C:\\" },
      {
        type: "file",
        ...scoCommon,
        id: `file--${uuid5(JSON.stringify({ name: "x.exe", parent_directory_ref: root }))}`,
        name: "x.exe",
        parent_directory_ref: root
      }
    ])
  })

  it("maps the user agent to OpenCTI's custom observable", () => {
    expect(observablesOf(convert({ ...minimal, user_agent: "curl/8.0" }).objects)).toEqual([
      { type: "user-agent", ...scoCommon, id: valueId("user-agent", "curl/8.0"), value: "curl/8.0" }
    ])
  })

  it("drops values that are not text", () => {
    expect(observe({ email: 42, username: ["a"], target_url: { href: "x" } })).toEqual({
      observables: [],
      dropped: [
        { field: "username", reason: "not a text value" },
        { field: "email", reason: "not a text value" },
        { field: "target_url", reason: "not a text value" }
      ]
    })
  })

  it("gives a record without observable fields only its incident", () => {
    expect(convert(minimal).objects.map((object) => object.type)).toEqual(["incident"])
  })

  it("writes valid STIX for every kind of observable", () => {
    const conversion = convert({
      ...minimal,
      email: "a@example.com",
      full_name: "A",
      username: "alice",
      user_hostname: "HOST",
      target_url: "example.com/x",
      target_domain: "example.com",
      target_subdomain: "www.example.com",
      ip_addresses: "192.0.2.1, 2001:db8::1",
      mac_address: "00-00-5E-00-53-2A",
      infected_path: "C:\\x\\y.exe",
      user_agent: "curl/8.0"
    })
    expect(conversion.objects.length).toBe(1 + 2 * 12)
    expect(conversion.objects.flatMap(validateStixObject)).toEqual([])
  })
})

describe("bundle", () => {
  it("always starts with the author and the marking, each id once", () => {
    const objects = convert({ ...minimal, email: "a@example.com" }).objects
    const bundle = converter.bundle([...objects, converter.marking, ...objects])
    expect(bundle.objects).toEqual([converter.author, converter.marking, ...objects])
    expect(bundle.type).toBe("bundle")
    expect("spec_version" in bundle).toBe(false)
  })

  it("keeps what only a later record knows of an observable two records share", () => {
    const first = convert({ ...minimal, email: "a@example.com" }).objects
    const second = convert({
      ...minimal,
      document_id: "fedcba9876543210",
      email: "a@example.com",
      full_name: "Avery Quill",
      username: "aquill"
    }).objects
    const emailId = valueId("email-addr", "a@example.com")
    const emails = converter.bundle([...first, ...second]).objects.filter(
      (object) => object.id === emailId
    )
    const accountId = second.find((object) => object.type === "user-account")!.id
    expect(emails).toEqual([
      {
        ...first.find((object) => object.id === emailId),
        display_name: "Avery Quill",
        belongs_to_ref: accountId
      }
    ])
    const kept = converter.bundle([...second, ...first]).objects.filter(
      (object) => object.id === emailId
    )
    expect(kept).toEqual([second.find((object) => object.id === emailId)])
  })

  it("derives its id from the sorted ids of its objects", () => {
    const objects = convert({ ...minimal, email: "a@example.com" }).objects
    const bundle = converter.bundle(objects)
    expect(bundle.id).toBe(
      `bundle--${uuid5(JSON.stringify(bundle.objects.map((object) => object.id).sort()))}`
    )
    expect(converter.bundle([...objects].reverse()).id).toBe(bundle.id)
    expect(converter.bundle([]).objects).toEqual([converter.author, converter.marking])
  })
})

describe("the validator", () => {
  const incident = incidentOf(convert(minimal).objects)

  it("rejects broken objects", () => {
    const withoutSpecVersion = Object.fromEntries(
      Object.entries(incident).filter(([property]) => property !== "spec_version")
    )
    expect(validateStixObject(withoutSpecVersion)).not.toEqual([])
    expect(validateStixObject({ ...incident, created: "2026-08-18T00:00:00Z" })).not.toEqual([])
    expect(validateStixObject({ ...incident, severity: "severe" })).toEqual([
      `incident ${incident.id}: severity must be one of low, medium, high, critical`
    ])
    expect(validateStixObject({ ...incident, type: "incidentx" })).toEqual([
      `incidentx ${incident.id}: type is not a known STIX 2.1 type`
    ])
    expect(validateStixObject({ type: "ipv4-addr", id: valueId("ipv4-addr", "1"), value: "1" }))
      .not.toEqual([])
    expect(validateStixObject({ type: "user-agent", id: valueId("user-agent", "x"), value: "" }))
      .toEqual([
        `user-agent ${valueId("user-agent", "x")}: spec_version must be "2.1"`,
        `user-agent ${valueId("user-agent", "x")}: value must be a non-empty string`
      ])
  })

  it("exempts severity on incidents only", () => {
    const observable = {
      type: "url",
      spec_version: "2.1",
      id: valueId("url", "http://a"),
      value: "http://a"
    }
    expect(validateStixObject(observable)).toEqual([])
    expect(validateStixObject({ ...observable, severity: "low" })).not.toEqual([])
  })

  it("checks the bundle envelope by hand", () => {
    expect(validateBundle({ type: "bundle", id: "bundle--x", objects: [] })).toEqual([
      "bundle: id must be \"bundle--\" followed by a UUID",
      "bundle: objects must be a non-empty array"
    ])
    const bundle = converter.bundle([incident])
    expect(validateBundle({ ...bundle, objects: [...bundle.objects, incident] })).toEqual([
      `objects[3]: id ${incident.id} appears twice`
    ])
  })
})

describe("layer", () => {
  it.effect("provides the converter for the given settings", () =>
    Effect.gen(function*() {
      const provided = yield* Converter
      expect(provided.author).toEqual(converter.author)
      expect(provided.marking.id).toBe("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed")
    }).pipe(Effect.provide(layer({ ...settings, tlpLevel: "red" }))))
})
