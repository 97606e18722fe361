import { afterEach, assert, describe, expect, it, vi } from "@effect/vitest"
import { Cause, Data, Effect, Redacted, TestClock } from "effect"
import * as ConnectorConfig from "../src/ConnectorConfig.js"
import type { Options } from "../src/Logging.js"
import * as Logging from "../src/Logging.js"

const logged = <A, E>(
  effect: Effect.Effect<A, E>,
  options: Omit<Options, "write"> = { name: "SpyCloud", level: "debug" }
) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    yield* effect.pipe(
      Effect.provide(Logging.layer({ ...options, write: (line) => lines.push(line) }))
    )
    return lines
  })

const at = (iso: string) => TestClock.setTime(Date.parse(iso))

class WindowFailed extends Data.TaggedError("WindowFailed")<{ readonly message: string }> {}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("Logging", () => {
  it.effect("writes pycti's fields in pycti's order, annotations as attributes", () =>
    Effect.gen(function*() {
      yield* at("2026-08-18T09:30:15.123Z")
      const lines = yield* logged(
        Effect.logInfo("Window imported").pipe(
          Effect.annotateLogs({ since: "2026-08-01", records: 1200 })
        )
      )
      assert.deepStrictEqual(lines, [
        "{\"timestamp\":\"2026-08-18T09:30:15.123000Z\",\"level\":\"INFO\",\"name\":\"SpyCloud\"," +
        "\"message\":\"Window imported\",\"attributes\":{\"since\":\"2026-08-01\",\"records\":1200}}"
      ])
    }))

  it.effect("leaves attributes out when there are none", () =>
    Effect.gen(function*() {
      const lines = yield* logged(Effect.logInfo("Connector registered"), {
        name: "SpyCloud EU",
        level: "info"
      })
      assert.deepStrictEqual(lines, [
        "{\"timestamp\":\"1970-01-01T00:00:00.000000Z\",\"level\":\"INFO\",\"name\":\"SpyCloud EU\"," +
        "\"message\":\"Connector registered\"}"
      ])
    }))

  it.effect("names the levels as Python does", () =>
    Effect.gen(function*() {
      const lines = yield* logged(
        Effect.all([
          Effect.logTrace("trace"),
          Effect.logDebug("debug"),
          Effect.logInfo("info"),
          Effect.logWarning("warning"),
          Effect.logError("error"),
          Effect.logFatal("fatal")
        ])
      )
      assert.deepStrictEqual(
        lines.map((line) => JSON.parse(line)).map(({ level, message }) => `${level} ${message}`),
        ["DEBUG debug", "INFO info", "WARNING warning", "ERROR error", "ERROR fatal"]
      )
    }))

  it.effect("writes nothing below the configured level", () =>
    Effect.gen(function*() {
      const lines = yield* logged(
        Effect.all([
          Effect.logDebug("Record decoded"),
          Effect.logInfo("Bundle pushed"),
          Effect.logWarning("Value dropped"),
          Effect.logError("Run failed")
        ]),
        { name: "SpyCloud", level: "warning" }
      )
      assert.deepStrictEqual(lines.map((line) => JSON.parse(line).message), [
        "Value dropped",
        "Run failed"
      ])
    }))

  it.effect("merges objects logged with the message into the attributes", () =>
    Effect.gen(function*() {
      const lines = yield* logged(
        Effect.logInfo("Bundle pushed", { objects: 12, window: { since: "2026-08-01" } }, 3n).pipe(
          Effect.annotateLogs("service", "OpenCtiClient")
        )
      )
      assert.deepStrictEqual(JSON.parse(lines[0]!), {
        timestamp: "1970-01-01T00:00:00.000000Z",
        level: "INFO",
        name: "SpyCloud",
        message: "Bundle pushed 3",
        attributes: { service: "OpenCtiClient", objects: 12, window: { since: "2026-08-01" } }
      })
    }))

  it.effect("writes the cause of a failure as exc_info", () =>
    Effect.gen(function*() {
      const cause = Cause.fail(new WindowFailed({ message: "SpyCloud kept answering 504" }))
      const lines = yield* logged(Effect.logError("Run failed", cause))
      const entry = JSON.parse(lines[0]!)
      assert.deepStrictEqual(Object.keys(entry), [
        "timestamp",
        "level",
        "name",
        "message",
        "exc_info"
      ])
      assert.strictEqual(entry.message, "Run failed")
      assert.strictEqual(entry.exc_info, Cause.pretty(cause, { renderErrorCause: true }))
      expect(entry.exc_info).toContain("WindowFailed: SpyCloud kept answering 504")
    }))

  it.effect("serializes errors, big integers, redacted and circular values", () =>
    Effect.gen(function*() {
      const circular: Record<string, unknown> = { id: "a" }
      circular.self = circular
      const lines = yield* logged(
        Effect.all([
          Effect.logWarning("Page skipped").pipe(
            Effect.annotateLogs({
              error: new Error("bad page"),
              bytes: 10n ** 20n,
              key: Redacted.make("not-shown")
            })
          ),
          Effect.logWarning("Odd value").pipe(Effect.annotateLogs({ value: circular }))
        ])
      )
      assert.deepStrictEqual(JSON.parse(lines[0]!).attributes, {
        error: { name: "Error", message: "bad page" },
        bytes: "100000000000000000000",
        key: "<redacted>"
      })
      assert.deepStrictEqual(JSON.parse(lines[1]!).attributes, { value: "{\"id\":\"a\"}" })
    }))

  it.effect("replaces every known secret in the whole line", () =>
    Effect.gen(function*() {
      const token = "opencti-token-7Qx9Zr2Lp"
      const apiKey = "key\"with\\quote-Vb4Nw8"
      const lines = yield* logged(
        Effect.logError(`Request to http://127.0.0.1/?token=${token} failed`, { apiKey }).pipe(
          Effect.annotateLogs({ header: `X-API-Key: ${apiKey}`, short: "abc" })
        ),
        { name: "SpyCloud", level: "info", secrets: [token, Redacted.make(apiKey), "abc"] }
      )
      assert.deepStrictEqual(lines, [
        "{\"timestamp\":\"1970-01-01T00:00:00.000000Z\",\"level\":\"ERROR\",\"name\":\"SpyCloud\"," +
        "\"message\":\"Request to http://127.0.0.1/?token=******** failed\"," +
        "\"attributes\":{\"short\":\"abc\",\"header\":\"X-API-Key: ********\",\"apiKey\":\"********\"}}"
      ])
    }))

  it.effect("leaves a secret shorter than 8 characters alone rather than mangle the line", () =>
    Effect.gen(function*() {
      const lines = yield* logged(
        Effect.logInfo("Bundle pushed for key kiosk-7 at keyword kiosk-77"),
        {
          name: "SpyCloud",
          level: "info",
          secrets: [Redacted.make("k"), "kiosk-7", "kiosk-77"]
        }
      )
      assert.deepStrictEqual(lines, [
        "{\"timestamp\":\"1970-01-01T00:00:00.000000Z\",\"level\":\"INFO\",\"name\":\"SpyCloud\"," +
        "\"message\":\"Bundle pushed for key kiosk-7 at keyword ********\"}"
      ])
    }))

  it.effect("takes the name, level and secrets from the settings", () =>
    Effect.gen(function*() {
      const settings = yield* ConnectorConfig.fromObject({
        opencti: { url: "http://127.0.0.1:8080", token: "opencti-token-7Qx9Zr2Lp" },
        connector: {
          id: "4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37",
          name: "SpyCloud EU",
          log_level: "warn"
        },
        spycloud: { api_key: "spycloud-key-Vb4Nw8Kt1" },
        mq: { pass: "broker-pass-Hy6Dm3Sg5" }
      })
      const lines: Array<string> = []
      yield* Effect.all([
        Effect.logInfo("Not written"),
        Effect.logWarning(
          "Secrets opencti-token-7Qx9Zr2Lp spycloud-key-Vb4Nw8Kt1 broker-pass-Hy6Dm3Sg5"
        )
      ]).pipe(Effect.provide(Logging.layerFromSettings(settings, (line) => lines.push(line))))
      assert.deepStrictEqual(lines, [
        "{\"timestamp\":\"1970-01-01T00:00:00.000000Z\",\"level\":\"WARNING\",\"name\":\"SpyCloud EU\"," +
        "\"message\":\"Secrets ******** ******** ********\"}"
      ])
    }))

  it.effect("hides no placeholder of offline settings", () =>
    Effect.gen(function*() {
      const settings = yield* ConnectorConfig.fromObject({}, { offline: true })
      assert.deepStrictEqual(Logging.secretsOf(settings), [])
    }))

  it.effect("reads the settings of the context in layerConfig", () =>
    Effect.gen(function*() {
      const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true)
      yield* Effect.logWarning("Watchlist type skipped").pipe(
        Effect.provide(Logging.layerConfig),
        Effect.provide(
          ConnectorConfig.layerFromObject({ connector: { name: "SpyCloud EU" } }, { offline: true })
        )
      )
      assert.deepStrictEqual(write.mock.calls, [[
        "{\"timestamp\":\"1970-01-01T00:00:00.000000Z\",\"level\":\"WARNING\",\"name\":\"SpyCloud EU\"," +
        "\"message\":\"Watchlist type skipped\"}\n"
      ]])
    }))

  it("maps the setting to Effect's log level", () => {
    assert.deepStrictEqual(
      (["debug", "info", "warning", "error"] as const).map((level) => Logging.logLevel(level)._tag),
      ["Debug", "Info", "Warning", "Error"]
    )
  })
})
