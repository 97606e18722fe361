import { afterAll, assert, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Logger, Redacted, TestClock } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { vi } from "vitest"
import type { Settings } from "../src/ConnectorConfig.js"
import * as ConnectorConfig from "../src/ConnectorConfig.js"

// The tests run as root, whom no file permission stops: a refused read has to be simulated.
vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof fs>()
  return { ...actual, readFile: vi.fn(actual.readFile) }
})

const directory = mkdtempSync(join(tmpdir(), "connector-config-test-"))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

let files = 0
const configFile = (text: string): string => {
  const path = join(directory, `config-${++files}.yml`)
  writeFileSync(path, text)
  return path
}
const emptyFile = configFile("")

const token = "opencti-token-7Qx9Zr2Lp"
const apiKey = "spycloud-key-Vb4Nw8Kt1"
const mqPass = "broker-pass-Hy6Dm3Sg5"

const complete = {
  CONFIG_FILE: emptyFile,
  OPENCTI_URL: "http://127.0.0.1:8080",
  OPENCTI_TOKEN: token,
  CONNECTOR_ID: "4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37",
  SPYCLOUD_API_KEY: apiKey
}

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(
    ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" })
  )

const loadWith = (env: Record<string, string>) => ConnectorConfig.load.pipe(withEnv(env))

const problemsOf = <A>(effect: Effect.Effect<A, ConnectorConfig.ConnectorConfigError>) =>
  Effect.map(Effect.flip(effect), (error) => error.problems)

/** Secrets and durations as plain values, so that a wrong secret makes the comparison fail. */
const plain = (settings: Settings) => ({
  ...settings,
  opencti: { ...settings.opencti, token: Redacted.value(settings.opencti.token) },
  connector: {
    ...settings.connector,
    durationPeriod: Duration.toMillis(settings.connector.durationPeriod)
  },
  spycloud: {
    ...settings.spycloud,
    apiKey: Redacted.value(settings.spycloud.apiKey),
    requestTimeout: Duration.toMillis(settings.spycloud.requestTimeout)
  },
  mq: { ...settings.mq, pass: settings.mq.pass && Redacted.value(settings.mq.pass) }
})

const capturedWarnings = (warnings: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(String((message as Array<unknown>)[0]))
    })
  )

describe("ConnectorConfig.load", () => {
  it.effect("fills every optional setting with its default", () =>
    Effect.gen(function*() {
      const settings = yield* loadWith(complete)
      assert.deepStrictEqual(plain(settings), {
        opencti: { url: "http://127.0.0.1:8080", token },
        connector: {
          id: "4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37",
          name: "SpyCloud",
          scope: ["spycloud"],
          logLevel: "info",
          durationPeriod: 3_600_000,
          runAndTerminate: false,
          queueThresholdMb: 500,
          queueProtocol: "amqp",
          apiBundleMaxObjects: 5000
        },
        spycloud: {
          baseUrl: "https://api.spycloud.io/enterprise-v2/",
          apiKey,
          severityLevels: [],
          watchlistTypes: [],
          tlpLevel: "amber+strict",
          importStartDate: "1970-01-01",
          includeSecrets: false,
          requestTimeout: 60_000,
          windowMaxRecords: 10_000
        },
        mq: {
          host: undefined,
          port: undefined,
          vhost: undefined,
          useSsl: undefined,
          user: undefined,
          pass: undefined
        }
      })
    }))

  it.effect("reads every section of config.yml, lists and numbers included", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-08-18T12:00:00Z"))
      const file = configFile(
        [
          "opencti:",
          "  url: https://opencti.example.org",
          `  token: ${token}`,
          "connector:",
          "  id: 0b5a6c1e-3f2d-4e8a-9c7b-1a2b3c4d5e6f",
          "  name: SpyCloud EU",
          "  scope: [spycloud, breach]",
          "  log_level: warn",
          "  duration_period: P1D",
          "  run_and_terminate: yes",
          "  queue_threshold: 250.5",
          "  queue_protocol: api",
          "  api_bundle_max_objects: 800",
          "  type: EXTERNAL_IMPORT",
          "spycloud:",
          "  api_base_url: http://127.0.0.1:9000/enterprise-v2",
          `  api_key: ${apiKey}`,
          "  severity_levels: [25, 20]",
          "  watchlist_types: email, IP",
          "  tlp_level: TLP:GREEN",
          "  import_start_date: 2024-01-31",
          "  include_secrets: true",
          "  request_timeout: 45",
          "  window_max_records: 2000",
          "mq:",
          "  host: rabbitmq",
          "  port: 5671",
          "  vhost: /",
          "  use_ssl: True",
          "  user: connector",
          `  pass: ${mqPass}`
        ].join("\n")
      )
      const settings = yield* loadWith({ CONFIG_FILE: file })
      assert.deepStrictEqual(plain(settings), {
        opencti: { url: "https://opencti.example.org", token },
        connector: {
          id: "0b5a6c1e-3f2d-4e8a-9c7b-1a2b3c4d5e6f",
          name: "SpyCloud EU",
          scope: ["spycloud", "breach"],
          logLevel: "warning",
          durationPeriod: 86_400_000,
          runAndTerminate: true,
          queueThresholdMb: 250.5,
          queueProtocol: "api",
          apiBundleMaxObjects: 800
        },
        spycloud: {
          baseUrl: "http://127.0.0.1:9000/enterprise-v2",
          apiKey,
          severityLevels: [25, 20],
          watchlistTypes: ["email", "ip"],
          tlpLevel: "green",
          importStartDate: "2024-01-31",
          includeSecrets: true,
          requestTimeout: 45_000,
          windowMaxRecords: 2000
        },
        mq: {
          host: "rabbitmq",
          port: 5671,
          vhost: "/",
          useSsl: true,
          user: "connector",
          pass: mqPass
        }
      })
    }))

  it.effect("lets the environment win over config.yml", () =>
    Effect.gen(function*() {
      const file = configFile(
        [
          "opencti:",
          "  url: https://from-yaml.example.org",
          "connector:",
          "  name: From YAML",
          "  duration_period: PT5M",
          "spycloud:",
          "  tlp_level: red",
          "  severity_levels: [2, 5]"
        ].join("\n")
      )
      const settings = yield* loadWith({
        ...complete,
        CONFIG_FILE: file,
        OPENCTI_URL: "https://from-env.example.org",
        CONNECTOR_NAME: "From env",
        SPYCLOUD_SEVERITY_LEVELS: "30"
      })
      assert.strictEqual(settings.opencti.url, "https://from-env.example.org")
      assert.strictEqual(settings.connector.name, "From env")
      assert.deepStrictEqual(settings.spycloud.severityLevels, [30])
      assert.strictEqual(Duration.toMillis(settings.connector.durationPeriod), 300_000)
      assert.strictEqual(settings.spycloud.tlpLevel, "red")
    }))

  it.effect("takes an empty value for the default, as pycti does", () =>
    Effect.gen(function*() {
      const file = configFile("connector:\n  name: From YAML\n")
      const settings = yield* loadWith({
        ...complete,
        CONFIG_FILE: file,
        CONNECTOR_NAME: "",
        CONNECTOR_LOG_LEVEL: "  ",
        SPYCLOUD_WATCHLIST_TYPES: ""
      })
      assert.strictEqual(settings.connector.name, "SpyCloud")
      assert.strictEqual(settings.connector.logLevel, "info")
      assert.deepStrictEqual(settings.spycloud.watchlistTypes, [])
    }))

  it.effect("reads pycti's booleans", () =>
    Effect.gen(function*() {
      const read = (value: string) =>
        Effect.map(
          loadWith({ ...complete, SPYCLOUD_INCLUDE_SECRETS: value }),
          (settings) => settings.spycloud.includeSecrets
        )
      assert.deepStrictEqual(
        yield* Effect.all(["yes", "true", "True", "no", "false", "False"].map(read)),
        [true, true, true, false, false, false]
      )
    }))

  it.effect("reads durations as ISO 8601 or seconds, a zero period meaning run once", () =>
    Effect.gen(function*() {
      const period = (value: string) =>
        Effect.map(loadWith({ ...complete, CONNECTOR_DURATION_PERIOD: value }), (settings) => [
          Duration.toMillis(settings.connector.durationPeriod),
          settings.connector.runAndTerminate
        ])
      assert.deepStrictEqual(
        yield* Effect.all(
          ["0", "PT0S", "PT1H30M", "P1W", "P1DT12H", "pt15m", "90", "PT0.5S"].map(period)
        ),
        [
          [0, true],
          [0, true],
          [5_400_000, false],
          [604_800_000, false],
          [129_600_000, false],
          [900_000, false],
          [90_000, false],
          [500, false]
        ]
      )
    }))

  it.effect("accepts TLP levels in any case, with or without the TLP: prefix", () =>
    Effect.gen(function*() {
      const tlp = (value: string) =>
        Effect.map(
          loadWith({ ...complete, SPYCLOUD_TLP_LEVEL: value }),
          (settings) => settings.spycloud.tlpLevel
        )
      assert.deepStrictEqual(
        yield* Effect.all(["TLP:RED", "Amber+Strict", "tlp:clear", "WHITE"].map(tlp)),
        ["red", "amber+strict", "clear", "white"]
      )
    }))

  it("parses a TLP level as the setting does, for the command line", () => {
    assert.deepStrictEqual(
      ["TLP:RED", " Amber+Strict ", "tlp:clear", "WHITE", "green", "amber-strict", "TLP: red", ""]
        .map(ConnectorConfig.parseTlpLevel),
      ["red", "amber+strict", "clear", "white", "green", undefined, undefined, undefined]
    )
    assert.strictEqual(
      ConnectorConfig.tlpLevelsAccepted,
      "white, clear, green, amber, amber+strict, red (any case, with or without \"TLP:\")"
    )
  })

  it.effect("resolves the import start date to a UTC day", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-31T10:00:00Z"))
      const start = (value: string) =>
        Effect.map(loadWith({ ...complete, SPYCLOUD_IMPORT_START_DATE: value }), (settings) =>
          settings.spycloud.importStartDate)
      assert.deepStrictEqual(
        yield* Effect.all(
          [
            "2024-02-29",
            "2024-01-31T23:30:00Z",
            "2024-01-01T01:00:00+02:00",
            "2024-01-31T22:00:00-05:00",
            "2024-01-31 08:00",
            "P90D",
            "PT12H",
            "P1M",
            "P1Y",
            "P2W"
          ].map(start)
        ),
        [
          "2024-02-29",
          "2024-01-31",
          "2023-12-31",
          "2024-02-01",
          "2024-01-31",
          "2025-12-31",
          "2026-03-30",
          "2026-02-28",
          "2025-03-31",
          "2026-03-17"
        ]
      )
    }))

  it.effect("refuses an import start date after today, by the clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-31T22:00:00Z"))
      const start = (value: string) =>
        Effect.either(
          Effect.map(
            loadWith({ ...complete, SPYCLOUD_IMPORT_START_DATE: value }),
            (settings) => settings.spycloud.importStartDate
          )
        )
      const future = (value: string) =>
        `SPYCLOUD_IMPORT_START_DATE: "${value}" is in the future; the import starts at this ` +
        "date, so nothing could be imported. Use today or an earlier date, or a duration such " +
        "as P90D."
      assert.deepStrictEqual(
        (yield* Effect.all(
          ["2026-03-31", "2026-03-31T23:59:59Z", "2026-04-01", "2026-03-31T21:00:00-05:00"].map(
            start
          )
        )).map((result) => result._tag === "Right" ? result.right : result.left.problems),
        [
          "2026-03-31",
          "2026-03-31",
          [future("2026-04-01")],
          [future("2026-03-31T21:00:00-05:00")]
        ]
      )
    }))

  it.effect("warns about an undocumented severity code and keeps it", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const settings = yield* loadWith({ ...complete, SPYCLOUD_SEVERITY_LEVELS: "20, 99,20" }).pipe(
        Effect.provide(capturedWarnings(warnings))
      )
      assert.deepStrictEqual(settings.spycloud.severityLevels, [20, 99])
      assert.deepStrictEqual(warnings, [
        "SPYCLOUD_SEVERITY_LEVELS: 99 is not a severity code SpyCloud documents " +
        "(2, 5, 20, 25, 26, 30); it is sent as configured."
      ])
    }))

  it.effect("warns about a secret too short to be masked in logs, and keeps it", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const settings = yield* loadWith({
        ...complete,
        OPENCTI_TOKEN: "k",
        SPYCLOUD_API_KEY: "1234567",
        MQ_PASS: "guest"
      }).pipe(Effect.provide(capturedWarnings(warnings)))
      assert.deepStrictEqual(
        [Redacted.value(settings.opencti.token), Redacted.value(settings.spycloud.apiKey)],
        ["k", "1234567"]
      )
      assert.deepStrictEqual(warnings, [
        "OPENCTI_TOKEN is very short (under 8 characters); real tokens and keys are longer, and " +
        "a value this short is not masked in logs. Check the value.",
        "SPYCLOUD_API_KEY is very short (under 8 characters); real tokens and keys are longer, " +
        "and a value this short is not masked in logs. Check the value.",
        "MQ_PASS is very short (under 8 characters); real tokens and keys are longer, and a " +
        "value this short is not masked in logs. Check the value."
      ])

      const long: Array<string> = []
      yield* loadWith({ ...complete, SPYCLOUD_API_KEY: "12345678" }).pipe(
        Effect.provide(capturedWarnings(long))
      )
      assert.deepStrictEqual(long, [])
    }))

  it.effect("lists every missing required setting", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* problemsOf(loadWith({ CONFIG_FILE: emptyFile })), [
        "OPENCTI_URL is required: set it to the platform's address, e.g. http://opencti:8080.",
        "OPENCTI_TOKEN is required: set it to the API token of the OpenCTI user the connector " +
        "acts as.",
        "CONNECTOR_ID is required: set it to a UUID chosen once and kept, e.g. " +
        "4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37.",
        "SPYCLOUD_API_KEY is required: set it to your SpyCloud Enterprise API key."
      ])
    }))

  const badValues: ReadonlyArray<readonly [string, string, string]> = [
    [
      "OPENCTI_URL",
      "opencti:8080",
      "OPENCTI_URL: \"opencti:8080\" is not an http(s) URL; expected e.g. http://opencti:8080."
    ],
    [
      "OPENCTI_URL",
      "ftp://opencti",
      "OPENCTI_URL: \"ftp://opencti\" is not an http(s) URL; expected e.g. http://opencti:8080."
    ],
    [
      "SPYCLOUD_API_BASE_URL",
      "api.spycloud.io",
      "SPYCLOUD_API_BASE_URL: \"api.spycloud.io\" is not an http(s) URL; expected e.g. " +
      "https://api.spycloud.io/enterprise-v2/."
    ],
    [
      "CONNECTOR_ID",
      "spycloud-connector",
      "CONNECTOR_ID: \"spycloud-connector\" is not a UUID; expected one chosen once and kept, " +
      "e.g. 4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37."
    ],
    [
      "CONNECTOR_DURATION_PERIOD",
      "1h",
      "CONNECTOR_DURATION_PERIOD: \"1h\" is not a duration; expected an ISO 8601 duration such " +
      "as PT30M, PT1H or P1D, a number of seconds, or 0 to run once."
    ],
    [
      "CONNECTOR_DURATION_PERIOD",
      "P1M",
      "CONNECTOR_DURATION_PERIOD: \"P1M\" counts years or months, which have no fixed length; " +
      "use weeks, days, hours, minutes or seconds, e.g. P30D."
    ],
    [
      "CONNECTOR_DURATION_PERIOD",
      "P1Y",
      "CONNECTOR_DURATION_PERIOD: \"P1Y\" counts years or months, which have no fixed length; " +
      "use weeks, days, hours, minutes or seconds, e.g. P30D."
    ],
    [
      "CONNECTOR_DURATION_PERIOD",
      "P30D",
      "CONNECTOR_DURATION_PERIOD: \"P30D\" is longer than 24 days, the longest wait a timer " +
      "supports; use P24D or less."
    ],
    [
      "CONNECTOR_DURATION_PERIOD",
      "PT",
      "CONNECTOR_DURATION_PERIOD: \"PT\" is not a duration; expected an ISO 8601 duration such " +
      "as PT30M, PT1H or P1D, a number of seconds, or 0 to run once."
    ],
    [
      "SPYCLOUD_REQUEST_TIMEOUT",
      "0",
      "SPYCLOUD_REQUEST_TIMEOUT: \"0\" is zero; expected an ISO 8601 duration such as PT60S or " +
      "a number of seconds such as 60."
    ],
    [
      "SPYCLOUD_REQUEST_TIMEOUT",
      "-5",
      "SPYCLOUD_REQUEST_TIMEOUT: \"-5\" is not a duration; expected an ISO 8601 duration such " +
      "as PT60S or a number of seconds such as 60."
    ],
    [
      "SPYCLOUD_TLP_LEVEL",
      "purple",
      "SPYCLOUD_TLP_LEVEL: \"purple\" is not a TLP level; accepted: white, clear, green, " +
      "amber, amber+strict, red (any case, with or without \"TLP:\")."
    ],
    [
      "SPYCLOUD_WATCHLIST_TYPES",
      "email,phone",
      "SPYCLOUD_WATCHLIST_TYPES: \"phone\" is not a watchlist type; accepted: email, domain, " +
      "subdomain, ip, comma-separated, or empty for one unfiltered query."
    ],
    [
      "SPYCLOUD_SEVERITY_LEVELS",
      "20,high",
      "SPYCLOUD_SEVERITY_LEVELS: \"high\" is not a positive integer; accepted: severity codes " +
      "such as 2, 5, 20, 25, 26, 30, comma-separated, or empty for all."
    ],
    [
      "SPYCLOUD_SEVERITY_LEVELS",
      "2.5",
      "SPYCLOUD_SEVERITY_LEVELS: \"2.5\" is not a positive integer; accepted: severity codes " +
      "such as 2, 5, 20, 25, 26, 30, comma-separated, or empty for all."
    ],
    [
      "CONNECTOR_QUEUE_THRESHOLD",
      "-5",
      "CONNECTOR_QUEUE_THRESHOLD: \"-5\" is not a positive number; accepted: a queue size in " +
      "MB, e.g. 500."
    ],
    [
      "CONNECTOR_QUEUE_THRESHOLD",
      "0",
      "CONNECTOR_QUEUE_THRESHOLD: \"0\" is not a positive number; accepted: a queue size in " +
      "MB, e.g. 500."
    ],
    [
      "CONNECTOR_QUEUE_PROTOCOL",
      "http",
      "CONNECTOR_QUEUE_PROTOCOL: \"http\" is not a queue protocol; accepted: amqp, api."
    ],
    [
      "CONNECTOR_LOG_LEVEL",
      "verbose",
      "CONNECTOR_LOG_LEVEL: \"verbose\" is not a log level; accepted: debug, info, warn, " +
      "warning, error."
    ],
    [
      "CONNECTOR_RUN_AND_TERMINATE",
      "maybe",
      "CONNECTOR_RUN_AND_TERMINATE: \"maybe\" is not a boolean; accepted: true, false, yes, no."
    ],
    [
      "CONNECTOR_API_BUNDLE_MAX_OBJECTS",
      "0",
      "CONNECTOR_API_BUNDLE_MAX_OBJECTS: \"0\" is not a positive integer; accepted: a number " +
      "of objects, e.g. 5000."
    ],
    [
      "SPYCLOUD_WINDOW_MAX_RECORDS",
      "1e4",
      "SPYCLOUD_WINDOW_MAX_RECORDS: \"1e4\" is not a positive integer; accepted: a number of " +
      "records, e.g. 10000."
    ],
    [
      "SPYCLOUD_IMPORT_START_DATE",
      "2024-02-30",
      "SPYCLOUD_IMPORT_START_DATE: \"2024-02-30\" is neither a date nor a duration; accepted: " +
      "a date such as 2024-01-31, a date-time such as 2024-01-31T00:00:00Z, or an ISO 8601 " +
      "duration such as P90D for that long ago."
    ],
    [
      "SPYCLOUD_IMPORT_START_DATE",
      "yesterday",
      "SPYCLOUD_IMPORT_START_DATE: \"yesterday\" is neither a date nor a duration; accepted: a " +
      "date such as 2024-01-31, a date-time such as 2024-01-31T00:00:00Z, or an ISO 8601 " +
      "duration such as P90D for that long ago."
    ],
    [
      "MQ_PORT",
      "70000",
      "MQ_PORT: \"70000\" is not a port number; accepted: an integer from 1 to 65535."
    ],
    [
      "MQ_USE_SSL",
      "sometimes",
      "MQ_USE_SSL: \"sometimes\" is not a boolean; accepted: true, false, yes, no."
    ]
  ]

  for (const [name, value, problem] of badValues) {
    it.effect(`rejects ${name}=${value}`, () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* problemsOf(loadWith({ ...complete, [name]: value })), [
          problem
        ])
      }))
  }

  it.effect("reports every problem together, in the order of the settings", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadWith({
        ...complete,
        OPENCTI_URL: "opencti",
        SPYCLOUD_TLP_LEVEL: "purple",
        CONNECTOR_LOG_LEVEL: "loud",
        SPYCLOUD_API_KEY: "",
        SPYCLOUD_WATCHLIST_TYPES: "phone,fax"
      }))
      assert.deepStrictEqual(error.problems, [
        "OPENCTI_URL: \"opencti\" is not an http(s) URL; expected e.g. http://opencti:8080.",
        "CONNECTOR_LOG_LEVEL: \"loud\" is not a log level; accepted: debug, info, warn, " +
        "warning, error.",
        "SPYCLOUD_API_KEY is required: set it to your SpyCloud Enterprise API key.",
        "SPYCLOUD_WATCHLIST_TYPES: \"phone\" is not a watchlist type; accepted: email, domain, " +
        "subdomain, ip, comma-separated, or empty for one unfiltered query.",
        "SPYCLOUD_WATCHLIST_TYPES: \"fax\" is not a watchlist type; accepted: email, domain, " +
        "subdomain, ip, comma-separated, or empty for one unfiltered query.",
        "SPYCLOUD_TLP_LEVEL: \"purple\" is not a TLP level; accepted: white, clear, green, " +
        "amber, amber+strict, red (any case, with or without \"TLP:\")."
      ])
      assert.strictEqual(error.message, error.problems.join("\n"))
    }))

  it.effect("never puts a secret in a problem, even one pasted into the wrong setting", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadWith({
        ...complete,
        MQ_PASS: mqPass,
        CONNECTOR_ID: token,
        MQ_PORT: apiKey,
        SPYCLOUD_TLP_LEVEL: `${mqPass}!`
      }))
      assert.deepStrictEqual(error.problems, [
        "CONNECTOR_ID: \"********\" is not a UUID; expected one chosen once and kept, e.g. " +
        "4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37.",
        "SPYCLOUD_TLP_LEVEL: \"********!\" is not a TLP level; accepted: white, clear, green, " +
        "amber, amber+strict, red (any case, with or without \"TLP:\").",
        "MQ_PORT: \"********\" is not a port number; accepted: an integer from 1 to 65535."
      ])
    }))
})

describe("config.yml", () => {
  it.effect("names the file when it is not valid YAML, without quoting its lines", () =>
    Effect.gen(function*() {
      const file = configFile(`opencti:\n  url: x\n   token: ${token}\n`)
      const problems = yield* problemsOf(loadWith({ ...complete, CONFIG_FILE: file }))
      assert.deepStrictEqual(problems, [
        `${file} is not valid YAML: Nested mappings are not allowed in compact mappings at ` +
        "line 2, " +
        "column 8; fix it or point CONFIG_FILE at another file."
      ])
    }))

  it.effect("reports a CONFIG_FILE that does not exist", () =>
    Effect.gen(function*() {
      const file = join(directory, "missing.yml")
      assert.deepStrictEqual(yield* problemsOf(loadWith({ ...complete, CONFIG_FILE: file })), [
        `CONFIG_FILE: ${file} does not exist; create it, or unset CONFIG_FILE to read ` +
        "./config.yml when there is one."
      ])
    }))

  it.effect("reports a directory given as the file, together with the other problems", () =>
    Effect.gen(function*() {
      const folder = join(directory, "a-folder.yml")
      mkdirSync(folder, { recursive: true })
      const problems = yield* problemsOf(
        loadWith({ ...complete, CONFIG_FILE: folder, CONNECTOR_QUEUE_PROTOCOL: "smtp" })
      )
      assert.deepStrictEqual(problems, [
        `CONFIG_FILE: ${folder} is a directory, not a file (Docker creates one where a file to ` +
        "mount is missing); point CONFIG_FILE at the YAML file itself.",
        "CONNECTOR_QUEUE_PROTOCOL: \"smtp\" is not a queue protocol; accepted: amqp, api."
      ])
    }))

  it.effect("reports a path through a file as missing", () =>
    Effect.gen(function*() {
      const file = join(emptyFile, "config.yml")
      assert.deepStrictEqual(yield* problemsOf(loadWith({ ...complete, CONFIG_FILE: file })), [
        `CONFIG_FILE: ${file} does not exist; create it, or unset CONFIG_FILE to read ` +
        "./config.yml when there is one."
      ])
    }))

  it.effect("reports a file it may not read, and any other failure by its code", () =>
    Effect.gen(function*() {
      const refused = (code: string) =>
        vi.mocked(fs.readFile).mockRejectedValueOnce(
          Object.assign(new Error(`${code}: open`), { code })
        )
      const file = configFile("connector:\n  name: SpyCloud EU\n")

      refused("EACCES")
      assert.deepStrictEqual(yield* problemsOf(loadWith({ ...complete, CONFIG_FILE: file })), [
        `CONFIG_FILE: ${file} cannot be read: permission denied (EACCES); let the user the ` +
        "connector runs as read it, or point CONFIG_FILE at another file."
      ])
      refused("EIO")
      assert.deepStrictEqual(yield* problemsOf(loadWith({ ...complete, CONFIG_FILE: file })), [
        `CONFIG_FILE: ${file} cannot be read (EIO); point CONFIG_FILE at another file.`
      ])
      const settings = yield* loadWith({ ...complete, CONFIG_FILE: file })
      assert.strictEqual(settings.connector.name, "SpyCloud EU")
    }))

  it.effect("rejects a file or a section that is not a mapping, and a nested value", () =>
    Effect.gen(function*() {
      const list = configFile("- opencti\n- connector\n")
      assert.deepStrictEqual(yield* problemsOf(loadWith({ ...complete, CONFIG_FILE: list })), [
        `${list} is not a mapping of sections; expected opencti:, connector:, spycloud:, mq:.`
      ])
      const nested = configFile("connector: PT1H\nspycloud:\n  tlp_level:\n    level: red\n")
      assert.deepStrictEqual(yield* problemsOf(loadWith({ ...complete, CONFIG_FILE: nested })), [
        `${nested}: connector is not a mapping of settings.`,
        `SPYCLOUD_TLP_LEVEL: spycloud.tlp_level in ${nested} is neither a single value nor a list.`
      ])
    }))

  it.effect("reports every unknown section and key, with the keys that are accepted", () =>
    Effect.gen(function*() {
      const file = configFile(
        [
          "opencti:",
          "  tokn: x",
          "spy_cloud:",
          "  api_key: y",
          "spycloud:",
          "  tlp: red",
          "  TLP_LEVEL: red",
          "  import_start_date:",
          "connector:",
          "  type: external_import",
          "mq:"
        ].join("\n")
      )
      assert.deepStrictEqual(
        yield* problemsOf(loadWith({ ...complete, OPENCTI_TOKEN: "", CONFIG_FILE: file })),
        [
          `${file}: opencti.tokn is not a setting; the opencti settings are url, token.`,
          `${file}: spy_cloud is not a section; the sections are opencti, connector, spycloud, mq.`,
          `${file}: spycloud.tlp is not a setting; the spycloud settings are api_base_url, ` +
          "api_key, severity_levels, watchlist_types, tlp_level, import_start_date, " +
          "include_secrets, request_timeout, window_max_records.",
          `${file}: spycloud.TLP_LEVEL is not a setting; the spycloud settings are api_base_url, ` +
          "api_key, severity_levels, watchlist_types, tlp_level, import_start_date, " +
          "include_secrets, request_timeout, window_max_records.",
          "OPENCTI_TOKEN is required: set it to the API token of the OpenCTI user the connector " +
          "acts as."
        ]
      )
    }))

  it.effect("accepts the Python connector's connector.type, and only as an external import", () =>
    Effect.gen(function*() {
      const imported = configFile("connector:\n  type: EXTERNAL_IMPORT\n")
      const settings = yield* loadWith({ ...complete, CONFIG_FILE: imported })
      assert.strictEqual(settings.connector.name, "SpyCloud")

      const enrichment = configFile("connector:\n  type: INTERNAL_ENRICHMENT\n")
      assert.deepStrictEqual(
        yield* problemsOf(loadWith({ ...complete, CONFIG_FILE: enrichment })),
        [
          `${enrichment}: connector.type is not a setting; the connector settings are id, name, ` +
          "scope, log_level, duration_period, run_and_terminate, queue_threshold, " +
          "queue_protocol, " +
          "api_bundle_max_objects."
        ]
      )
    }))
})

describe("config.yml.sample", () => {
  const sample = readFileSync(new URL("../config.yml.sample", import.meta.url), "utf8")

  it.effect("is valid once the placeholders are replaced, and documents every setting", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-08-18T12:00:00Z"))
      const file = configFile(
        sample.replace("id: ChangeMe", "id: 4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37")
      )
      const settings = yield* loadWith({ CONFIG_FILE: file })
      assert.strictEqual(settings.spycloud.importStartDate, "2026-05-20")
      assert.strictEqual(Redacted.value(settings.spycloud.apiKey), "ChangeMe")

      const names = ConnectorConfig.formatSettings(settings).split("\n").map((line) =>
        line.split(" ")[0]!
      )
      assert.deepStrictEqual(names.filter((name) => !sample.includes(`# ${name}`)), [])
    }))

  it.effect("sets every optional setting to its default, but the start date it recommends", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-08-18T12:00:00Z"))
      const file = configFile(
        sample.replace("id: ChangeMe", "id: 4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37")
      )
      const fromSample = yield* loadWith({ CONFIG_FILE: file })
      const withDefaults = yield* loadWith({
        CONFIG_FILE: emptyFile,
        OPENCTI_URL: "http://opencti:8080",
        OPENCTI_TOKEN: "ChangeMe",
        CONNECTOR_ID: "4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37",
        SPYCLOUD_API_KEY: "ChangeMe",
        SPYCLOUD_IMPORT_START_DATE: "P90D"
      })
      assert.deepStrictEqual(plain(fromSample), plain(withDefaults))
    }))

  it("states in each comment the default its line sets, but for the recommended start date", () => {
    const disagreements: Array<readonly [string, string, string]> = []
    let comment = ""
    for (const line of sample.split("\n")) {
      if (/^\s*#/.test(line)) {
        comment += line
        continue
      }
      const setting = /^ {2}(\w+): (.*)$/.exec(line)
      const stated = /Default (\S+?)[.,]?(?:\s|$)/.exec(comment)
      if (setting !== null && stated !== null && stated[1] !== setting[2]) {
        disagreements.push([setting[1]!, stated[1]!, setting[2]!])
      }
      comment = ""
    }
    assert.deepStrictEqual(disagreements, [["import_start_date", "1970-01-01", "P90D"]])
  })
})

describe("ConnectorConfig.loadOffline", () => {
  it.effect("needs no credentials and fills them with placeholders that reach nothing", () =>
    Effect.gen(function*() {
      const settings = yield* ConnectorConfig.loadOffline.pipe(
        withEnv({
          CONFIG_FILE: emptyFile,
          OPENCTI_URL: "not even a URL",
          CONNECTOR_QUEUE_PROTOCOL: "smtp",
          CONNECTOR_NAME: "Offline SpyCloud",
          SPYCLOUD_TLP_LEVEL: "red",
          SPYCLOUD_INCLUDE_SECRETS: "yes",
          SPYCLOUD_WATCHLIST_TYPES: "domain"
        })
      )
      assert.strictEqual(settings.opencti.url, "http://127.0.0.1:0")
      assert.strictEqual(settings.opencti.token, ConnectorConfig.offlineSecret)
      assert.strictEqual(settings.spycloud.apiKey, ConnectorConfig.offlineSecret)
      assert.strictEqual(settings.spycloud.baseUrl, "http://127.0.0.1:0/")
      assert.strictEqual(settings.connector.id, "00000000-0000-0000-0000-000000000000")
      assert.strictEqual(settings.connector.queueProtocol, "amqp")
      assert.deepStrictEqual(ConnectorConfig.conversionSettings(settings), {
        connectorName: "Offline SpyCloud",
        tlpLevel: "red",
        includeSecrets: true
      })
      assert.deepStrictEqual(settings.spycloud.watchlistTypes, ["domain"])
    }))

  it.effect("still validates what it reads", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf(
        ConnectorConfig.loadOffline.pipe(
          withEnv({ CONFIG_FILE: emptyFile, SPYCLOUD_TLP_LEVEL: "amber-strict" })
        )
      )
      assert.deepStrictEqual(problems, [
        "SPYCLOUD_TLP_LEVEL: \"amber-strict\" is not a TLP level; accepted: white, clear, " +
        "green, amber, amber+strict, red (any case, with or without \"TLP:\")."
      ])
    }))
})

describe("ConnectorConfig.fromObject", () => {
  const input = {
    opencti: { url: "http://127.0.0.1:8080", token: Redacted.make(token) },
    connector: { id: "4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37", scope: ["spycloud"] },
    spycloud: { api_key: apiKey, severity_levels: [20, 25], watchlist_types: ["email", "ip"] }
  }

  it.effect("builds settings from a plain object, ignoring the environment", () =>
    Effect.gen(function*() {
      const settings = yield* ConnectorConfig.fromObject(input).pipe(
        withEnv({ CONNECTOR_NAME: "From env" })
      )
      assert.strictEqual(Redacted.value(settings.opencti.token), token)
      assert.strictEqual(Redacted.value(settings.spycloud.apiKey), apiKey)
      assert.strictEqual(settings.connector.name, "SpyCloud")
      assert.deepStrictEqual(settings.spycloud.severityLevels, [20, 25])
      assert.deepStrictEqual(settings.spycloud.watchlistTypes, ["email", "ip"])
    }))

  it.effect("validates like load, and like loadOffline when asked", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        yield* problemsOf(ConnectorConfig.fromObject({ spycloud: { tlp_level: "TLP:PINK" } })),
        [
          "OPENCTI_URL is required: set it to the platform's address, e.g. http://opencti:8080.",
          "OPENCTI_TOKEN is required: set it to the API token of the OpenCTI user the connector " +
          "acts as.",
          "CONNECTOR_ID is required: set it to a UUID chosen once and kept, e.g. " +
          "4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37.",
          "SPYCLOUD_API_KEY is required: set it to your SpyCloud Enterprise API key.",
          "SPYCLOUD_TLP_LEVEL: \"TLP:PINK\" is not a TLP level; accepted: white, clear, green, " +
          "amber, amber+strict, red (any case, with or without \"TLP:\")."
        ]
      )
      const offline = yield* ConnectorConfig.fromObject(
        { spycloud: { tlp_level: "clear" } },
        { offline: true }
      )
      assert.strictEqual(offline.spycloud.tlpLevel, "clear")
      assert.strictEqual(offline.opencti.url, "http://127.0.0.1:0")
    }))

  it.effect("reports unknown sections and keys of the object", () =>
    Effect.gen(function*() {
      const input = { spycloud: { tlp: "red" }, mq: { password: "x" }, queue: {} }
      assert.deepStrictEqual(
        yield* problemsOf(
          ConnectorConfig.fromObject(input as ConnectorConfig.ConfigInput, { offline: true })
        ),
        [
          "the settings object: spycloud.tlp is not a setting; the spycloud settings are " +
          "api_base_url, api_key, severity_levels, watchlist_types, tlp_level, " +
          "import_start_date, " +
          "include_secrets, request_timeout, window_max_records.",
          "the settings object: mq.password is not a setting; the mq settings are host, port, " +
          "vhost, use_ssl, user, pass.",
          "the settings object: queue is not a section; the sections are opencti, connector, " +
          "spycloud, mq."
        ]
      )
    }))

  it.effect("provides the service through layerFromObject", () =>
    Effect.gen(function*() {
      const settings = yield* ConnectorConfig.ConnectorConfig
      assert.strictEqual(settings.connector.id, "4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37")
    }).pipe(Effect.provide(ConnectorConfig.layerFromObject(input))))

  it.effect("fails the layer with the problems", () =>
    Effect.gen(function*() {
      const layer = ConnectorConfig.layerFromObject(
        { connector: { queue_protocol: "smtp" }, spycloud: { window_max_records: "many" } },
        { offline: true }
      )
      const error = yield* Effect.flip(Effect.scoped(Layer.build(layer)))
      assert.deepStrictEqual(error.problems, [
        "SPYCLOUD_WINDOW_MAX_RECORDS: \"many\" is not a positive integer; accepted: a number " +
        "of records, e.g. 10000."
      ])
    }))
})

describe("formatSettings", () => {
  it.effect("lists every setting with its environment name, secrets masked", () =>
    Effect.gen(function*() {
      const settings = yield* loadWith({
        ...complete,
        OPENCTI_URL: `http://admin:${mqPass}@127.0.0.1:8080`,
        MQ_PASS: mqPass,
        MQ_HOST: "rabbitmq",
        SPYCLOUD_SEVERITY_LEVELS: "20,25",
        SPYCLOUD_WATCHLIST_TYPES: "email",
        SPYCLOUD_REQUEST_TIMEOUT: "PT1M30.5S",
        CONNECTOR_DURATION_PERIOD: "P1DT2H"
      })
      const text = ConnectorConfig.formatSettings(settings)
      expect(text).toBe(
        [
          "OPENCTI_URL                       http://admin:********@127.0.0.1:8080/",
          "OPENCTI_TOKEN                     ********",
          "CONNECTOR_ID                      4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37",
          "CONNECTOR_NAME                    SpyCloud",
          "CONNECTOR_SCOPE                   spycloud",
          "CONNECTOR_LOG_LEVEL               info",
          "CONNECTOR_DURATION_PERIOD         P1DT2H",
          "CONNECTOR_RUN_AND_TERMINATE       false",
          "CONNECTOR_QUEUE_THRESHOLD         500",
          "CONNECTOR_QUEUE_PROTOCOL          amqp",
          "CONNECTOR_API_BUNDLE_MAX_OBJECTS  5000",
          "SPYCLOUD_API_BASE_URL             https://api.spycloud.io/enterprise-v2/",
          "SPYCLOUD_API_KEY                  ********",
          "SPYCLOUD_SEVERITY_LEVELS          20,25",
          "SPYCLOUD_WATCHLIST_TYPES          email",
          "SPYCLOUD_TLP_LEVEL                amber+strict",
          "SPYCLOUD_IMPORT_START_DATE        1970-01-01",
          "SPYCLOUD_INCLUDE_SECRETS          false",
          "SPYCLOUD_REQUEST_TIMEOUT          PT1M30.5S",
          "SPYCLOUD_WINDOW_MAX_RECORDS       10000",
          "MQ_HOST                           rabbitmq",
          "MQ_PORT                           (from registration)",
          "MQ_VHOST                          (from registration)",
          "MQ_USE_SSL                        (from registration)",
          "MQ_USER                           (from registration)",
          "MQ_PASS                           ********"
        ].join("\n")
      )
      for (const secret of [token, apiKey, mqPass]) expect(text).not.toContain(secret)
    }))

  it.effect("shows a zero period as run once and empty filters as all", () =>
    Effect.gen(function*() {
      const settings = yield* loadWith({ ...complete, CONNECTOR_DURATION_PERIOD: "0" })
      const lines = ConnectorConfig.formatSettings(settings).split("\n")
      assert.deepStrictEqual(
        lines.filter((line) => /PERIOD|TERMINATE|SEVERITY|WATCHLIST/.test(line)),
        [
          "CONNECTOR_DURATION_PERIOD         0 (run once)",
          "CONNECTOR_RUN_AND_TERMINATE       true",
          "SPYCLOUD_SEVERITY_LEVELS          (all)",
          "SPYCLOUD_WATCHLIST_TYPES          (all, one unfiltered query)"
        ]
      )
    }))
})
