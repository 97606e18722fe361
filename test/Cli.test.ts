import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Console, Effect, Either, Exit } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { decodeBreachRecord, decodeCatalogEntry } from "../src/BreachRecord.js"
import { cli } from "../src/Cli.js"
import * as Converter from "../src/Converter.js"
import { parseRecords } from "../src/Input.js"
import { validateBundle } from "./support/stixSchemas.js"

const fixture = (name: string) =>
  fileURLToPath(new URL(`../../shared/fixtures/${name}`, import.meta.url))

/** Runs the command line in this process and returns what it printed on stdout and stderr. */
const runCli = (args: ReadonlyArray<string>, environment: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const console = {
      ...(yield* Effect.console),
      log: (...values: ReadonlyArray<unknown>) =>
        Effect.sync(() => void out.push(values.join(" "))),
      error: (...values: ReadonlyArray<unknown>) =>
        Effect.sync(() => void err.push(values.join(" ")))
    } as Console.Console
    const exit = yield* cli(["node", "spycloud-connector", ...args]).pipe(
      Effect.withConsole(console),
      Effect.withConfigProvider(
        ConfigProvider.fromMap(
          new Map(Object.entries({ CONNECTOR_LOG_LEVEL: "error", ...environment })),
          { pathDelim: "_" }
        )
      ),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    return { exit, stdout: out.join("\n"), stderr: err.join("\n") }
  })

describe("the command line", () => {
  it.live("convert writes the fixture page as one valid bundle, equal to the library's", () =>
    Effect.gen(function*() {
      const { exit, stdout } = yield* runCli([
        "convert",
        "--input",
        fixture("watchlist-page.json"),
        "--catalog",
        fixture("catalog-responses.json"),
        "--tlp",
        "green"
      ])
      assert.isTrue(Exit.isSuccess(exit))
      const bundle = JSON.parse(stdout)
      assert.deepStrictEqual(validateBundle(bundle), [])

      const page = JSON.parse(readFileSync(fixture("watchlist-page.json"), "utf8"))
      const catalog = JSON.parse(readFileSync(fixture("catalog-responses.json"), "utf8"))
      const converter = Converter.make({
        connectorName: "SpyCloud",
        tlpLevel: "green",
        includeSecrets: false
      })
      const expected = converter.bundle(
        (page.results as ReadonlyArray<unknown>).flatMap((raw) => {
          const record = Either.getOrThrow(decodeBreachRecord(raw))
          return converter.convert(
            record,
            decodeCatalogEntry(catalog[String(record.sourceId)].results[0])
          ).objects
        })
      )
      assert.deepStrictEqual(bundle, expected)
      assert.strictEqual(
        bundle.objects.filter((object: { type: string }) => object.type === "incident").length,
        5
      )
      assert.notInclude(stdout, "Winter!2026demo")
    }))

  it.live("convert reports skipped records on stderr and still succeeds", () =>
    Effect.gen(function*() {
      const { exit, stderr, stdout } = yield* runCli([
        "convert",
        "--input",
        fixture("catalog-responses.json")
      ])
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(
        stderr,
        "Skipped 1 record that could not be decoded; the warnings in the log say why"
      )
      assert.deepStrictEqual(
        JSON.parse(stdout).objects.map((object: { type: string }) => object.type),
        ["identity", "marking-definition"]
      )
    }))

  it.live("convert fails only when the input cannot be read at all", () =>
    Effect.gen(function*() {
      const { exit } = yield* runCli(["convert", "--input", fixture("README.md")])
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? String(exit.cause) : ""
      assert.match(error, /README\.md is neither JSON \(.+\) nor one JSON record per line/)
    }))

  it.live("check-config names every missing setting and prints no secret", () =>
    Effect.gen(function*() {
      const missing = yield* runCli(["check-config"])
      assert.isTrue(Exit.isFailure(missing.exit))
      const problems = Exit.isFailure(missing.exit) ? String(missing.exit.cause) : ""
      for (const name of ["OPENCTI_URL", "OPENCTI_TOKEN", "CONNECTOR_ID", "SPYCLOUD_API_KEY"]) {
        assert.include(problems, name)
      }

      const secrets = {
        OPENCTI_TOKEN: "token-7c1e0b55-distinctive",
        SPYCLOUD_API_KEY: "key-0f4a9e21-distinctive",
        MQ_PASS: "pass-9b8c7d6e-distinctive"
      }
      const complete = yield* runCli(["check-config"], {
        OPENCTI_URL: "http://127.0.0.1:8080",
        CONNECTOR_ID: "4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37",
        ...secrets
      })
      assert.isTrue(Exit.isSuccess(complete.exit))
      assert.match(complete.stdout, /^OPENCTI_TOKEN +\*{8}$/m)
      for (const secret of Object.values(secrets)) assert.notInclude(complete.stdout, secret)
    }))
})

describe("reading exports", () => {
  it.effect("reads a watchlist response, an array of records and NDJSON alike", () =>
    Effect.gen(function*() {
      const record = { document_id: "a1b2c3d4e5", spycloud_publish_date: "2026-08-18T00:00:00Z" }
      const fromEnvelope = yield* parseRecords(
        JSON.stringify({ cursor: "", hits: 1, results: [record] }),
        "x"
      )
      const fromArray = yield* parseRecords(JSON.stringify([record, record]), "x")
      const fromLines = yield* parseRecords(
        `${JSON.stringify(record)}\n{broken\n\n${JSON.stringify({ email: "a@example.com" })}\n`,
        "x"
      )
      assert.deepStrictEqual(
        [fromEnvelope, fromArray, fromLines].map((
          page
        ) => [page.records.length, page.rejected.length]),
        [[1, 0], [2, 0], [1, 2]]
      )
      assert.deepStrictEqual(fromLines.rejected.map((rejected) => rejected.reason), [
        "line 2 is not JSON",
        "the record has no usable document_id (missing)"
      ])
    }))

  it.effect("reads a file that starts with a byte order mark", () =>
    Effect.gen(function*() {
      const text = readFileSync(fixture("watchlist-page.json"), "utf8")
      const page = yield* parseRecords(`\uFEFF${text}`, "x")
      assert.deepStrictEqual([page.records.length, page.rejected.length], [5, 0])
    }))

  it.effect("refuses a cut JSON file instead of reading its lines as records", () =>
    Effect.gen(function*() {
      const text = readFileSync(fixture("watchlist-page.json"), "utf8")
      const error = yield* Effect.flip(parseRecords(text.slice(0, -200), "cut.json"))
      assert.match(error.message, /^cut\.json is neither JSON \(.+\) nor one JSON record per line$/)
    }))

  it.effect("keeps the whole lines of a cut NDJSON file and rejects the cut one", () =>
    Effect.gen(function*() {
      const record = { document_id: "a1b2c3d4e5", spycloud_publish_date: "2026-08-18T00:00:00Z" }
      const text = `${JSON.stringify(record)}\n${JSON.stringify(record).slice(0, 20)}`
      const page = yield* parseRecords(text, "x")
      assert.strictEqual(page.records.length, 1)
      assert.deepStrictEqual(page.rejected, [{
        documentId: undefined,
        reason: "line 2 is not JSON"
      }])
    }))

  it.effect("refuses text that holds no records, naming the source", () =>
    Effect.gen(function*() {
      for (const text of ["", "\n\n", "42", "\"text\""]) {
        const error = yield* Effect.flip(parseRecords(text, "export.json"))
        assert.strictEqual(
          error.message,
          "export.json holds no breach records: expected a watchlist response ({cursor, hits, " +
            "results}), a JSON array of records, or one record per line (NDJSON)"
        )
      }
    }))
})
