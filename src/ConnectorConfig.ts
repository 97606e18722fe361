/**
 * The connector's settings: `config.yml` (path from `CONFIG_FILE`, else `./config.yml`) and the
 * environment, the environment winning, with the names every OpenCTI connector uses.
 *
 * Every value goes through one validation step that reports all problems at once, one line per
 * problem naming the environment variable, what is wrong and what is accepted. As in the Python
 * connectors, `yes`/`true` and `no`/`false` are booleans and an empty value means the default.
 *
 * @since 0.1.0
 */
import type { ConfigError } from "effect"
import {
  Clock,
  Config,
  ConfigProvider,
  Context,
  Data,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  Redacted
} from "effect"
import { readFile } from "node:fs/promises"
import { parseDocument } from "yaml"
import type { WatchlistType } from "./BreachRecord.js"
import { documentedSeverityCodes, watchlistTypes } from "./BreachRecord.js"
import { mask, minimumSecretLength, scrubSecrets } from "./Redaction.js"

/**
 * Settings that could not be read. One problem per line, each naming the variable, what is wrong
 * with its value and what is accepted; never the value of a secret.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectorConfigError extends Data.TaggedError("ConnectorConfigError")<{
  readonly problems: ReadonlyArray<string>
}> {
  override get message() {
    return this.problems.join("\n")
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export type TlpLevel = "white" | "clear" | "green" | "amber" | "amber+strict" | "red"

/**
 * Every TLP level, in the order messages list them.
 *
 * @since 0.1.0
 * @category models
 */
export const tlpLevels: ReadonlyArray<TlpLevel> = [
  "white",
  "clear",
  "green",
  "amber",
  "amber+strict",
  "red"
]

/**
 * What {@link parseTlpLevel} accepts, worded for a message.
 *
 * @since 0.1.0
 * @category models
 */
export const tlpLevelsAccepted = `${tlpLevels.join(", ")} (any case, with or without "TLP:")`

/**
 * A TLP level written as `SPYCLOUD_TLP_LEVEL` accepts it: in any case, with or without `TLP:`,
 * surrounding spaces ignored; `undefined` when it is none (see {@link tlpLevelsAccepted}).
 * `clear` and `white` stay as written: both give the same marking.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseTlpLevel = (text: string): TlpLevel | undefined => {
  const level = text.trim().toLowerCase().replace(/^tlp:/, "")
  return tlpLevels.find((candidate) => candidate === level)
}

/**
 * @since 0.1.0
 * @category models
 */
export type LogLevelSetting = "debug" | "info" | "warning" | "error"

/**
 * What the converter needs: the author's name, the marking and the secrets opt-in.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConversionSettings {
  readonly connectorName: string
  readonly tlpLevel: TlpLevel
  readonly includeSecrets: boolean
}

/**
 * Everything `run` uses. `demo` and `convert` fill the credentials with placeholders they never
 * send anywhere.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly opencti: {
    readonly url: string
    readonly token: Redacted.Redacted<string>
  }
  readonly connector: {
    readonly id: string
    readonly name: string
    readonly scope: ReadonlyArray<string>
    readonly logLevel: LogLevelSetting
    /** Zero: run once. */
    readonly durationPeriod: Duration.Duration
    /** Also `true` when the duration period is zero. */
    readonly runAndTerminate: boolean
    readonly queueThresholdMb: number
    readonly queueProtocol: "amqp" | "api"
    /** Largest bundle sent in one `stixBundlePush`, in objects. */
    readonly apiBundleMaxObjects: number
  }
  readonly spycloud: {
    readonly baseUrl: string
    readonly apiKey: Redacted.Redacted<string>
    readonly severityLevels: ReadonlyArray<number>
    /** Empty: one unfiltered query per run, kept in the state under `all`. */
    readonly watchlistTypes: ReadonlyArray<WatchlistType>
    readonly tlpLevel: TlpLevel
    /** `YYYY-MM-DD`, resolved from a date or a duration ago at load time. */
    readonly importStartDate: string
    readonly includeSecrets: boolean
    readonly requestTimeout: Duration.Duration
    /** Largest number of records (SpyCloud's `hits`) one window may hold before it is split. */
    readonly windowMaxRecords: number
  }
  /** Overrides of the broker connection that registration returns. */
  readonly mq: {
    readonly host: string | undefined
    readonly port: number | undefined
    readonly vhost: string | undefined
    readonly useSsl: boolean | undefined
    readonly user: string | undefined
    readonly pass: Redacted.Redacted<string> | undefined
  }
}

/**
 * One value of `config.yml` or of a {@link ConfigInput}. Lists stand for comma-separated values.
 *
 * @since 0.1.0
 * @category models
 */
export type ConfigValue =
  | string
  | number
  | boolean
  | Redacted.Redacted<string>
  | ReadonlyArray<string | number>

/**
 * Settings as a plain object in the shape of `config.yml`: a section per prefix of the environment
 * name, keyed by the rest of it in lower case (`SPYCLOUD_TLP_LEVEL` is `spycloud.tlp_level`).
 *
 * @since 0.1.0
 * @category models
 */
export type ConfigInput = {
  readonly [S in Section]?: { readonly [K in SectionKey<S>]?: ConfigValue }
}

/**
 * @since 0.1.0
 * @category services
 */
export class ConnectorConfig extends Context.Tag("spycloud/ConnectorConfig")<
  ConnectorConfig,
  Settings
>() {}

/**
 * @since 0.1.0
 * @category accessors
 */
export const conversionSettings = (settings: Settings): ConversionSettings => ({
  connectorName: settings.connector.name,
  tlpLevel: settings.spycloud.tlpLevel,
  includeSecrets: settings.spycloud.includeSecrets
})

const loadSettings = (mode: Mode) =>
  Effect.gen(function*() {
    const environment = yield* Effect.configProviderWith(Effect.succeed)
    const file = yield* readConfigFile(environment)
    const provider = environment.pipe(
      ConfigProvider.constantCase,
      ConfigProvider.orElse(() => ConfigProvider.fromJson(file.values))
    )
    return yield* decodeWith(provider, mode, file.problems)
  })

/**
 * Reads and validates everything `run` needs from `config.yml` and the current `ConfigProvider`
 * (the environment by default). Fails with every problem found, missing required settings
 * included. Logs a warning for each severity code SpyCloud does not document.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load: Effect.Effect<Settings, ConnectorConfigError> = loadSettings("run").pipe(
  Effect.withSpan("ConnectorConfig.load")
)

/**
 * Reads only what `demo`, `convert` and library use need: the connector name, log level, TLP
 * level, secrets opt-in, severity levels, watchlist types, import start date, request timeout and
 * window size. The credentials and addresses are placeholders (`http://127.0.0.1:0`) that reach
 * nothing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadOffline: Effect.Effect<Settings, ConnectorConfigError> = loadSettings(
  "offline"
).pipe(Effect.withSpan("ConnectorConfig.loadOffline"))

/**
 * Settings from a plain object in the shape of `config.yml`, with the same validation as
 * {@link load}; `offline: true` validates like {@link loadOffline}. Neither the environment nor
 * `config.yml` is read.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromObject = (
  input: ConfigInput,
  options?: { readonly offline?: boolean }
): Effect.Effect<Settings, ConnectorConfigError> =>
  Effect.suspend(() => {
    const normalized = sectionValues(input, "the settings object")
    return decodeWith(
      ConfigProvider.fromJson(normalized.values),
      options?.offline === true ? "offline" : "run",
      normalized.problems
    )
  }).pipe(Effect.withSpan("ConnectorConfig.fromObject"))

/**
 * The credential offline settings carry: a placeholder sent nowhere and hidden nowhere.
 *
 * @since 0.1.0
 * @category constructors
 */
export const offlineSecret: Redacted.Redacted<string> = Redacted.make("offline")

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ConnectorConfig, ConnectorConfigError> = Layer.effect(
  ConnectorConfig,
  load
)

/**
 * @since 0.1.0
 * @category layers
 */
export const layerOffline: Layer.Layer<ConnectorConfig, ConnectorConfigError> = Layer.effect(
  ConnectorConfig,
  loadOffline
)

/**
 * @since 0.1.0
 * @category layers
 */
export const layerFromObject = (
  input: ConfigInput,
  options?: { readonly offline?: boolean }
): Layer.Layer<ConnectorConfig, ConnectorConfigError> =>
  Layer.effect(ConnectorConfig, fromObject(input, options))

/**
 * Every setting with its environment name and value, one per line, for `check-config`. Secrets
 * show as `********`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatSettings = (settings: Settings): string => {
  const { connector, mq, opencti, spycloud } = settings
  const shown = {
    OPENCTI_URL: withoutPassword(opencti.url),
    OPENCTI_TOKEN: mask,
    CONNECTOR_ID: connector.id,
    CONNECTOR_NAME: connector.name,
    CONNECTOR_SCOPE: connector.scope.join(","),
    CONNECTOR_LOG_LEVEL: connector.logLevel,
    CONNECTOR_DURATION_PERIOD: Duration.isZero(connector.durationPeriod)
      ? "0 (run once)"
      : isoDuration(connector.durationPeriod),
    CONNECTOR_RUN_AND_TERMINATE: String(connector.runAndTerminate),
    CONNECTOR_QUEUE_THRESHOLD: String(connector.queueThresholdMb),
    CONNECTOR_QUEUE_PROTOCOL: connector.queueProtocol,
    CONNECTOR_API_BUNDLE_MAX_OBJECTS: String(connector.apiBundleMaxObjects),
    SPYCLOUD_API_BASE_URL: withoutPassword(spycloud.baseUrl),
    SPYCLOUD_API_KEY: mask,
    SPYCLOUD_SEVERITY_LEVELS: spycloud.severityLevels.length > 0
      ? spycloud.severityLevels.join(",")
      : "(all)",
    SPYCLOUD_WATCHLIST_TYPES: spycloud.watchlistTypes.length > 0
      ? spycloud.watchlistTypes.join(",")
      : "(all, one unfiltered query)",
    SPYCLOUD_TLP_LEVEL: spycloud.tlpLevel,
    SPYCLOUD_IMPORT_START_DATE: spycloud.importStartDate,
    SPYCLOUD_INCLUDE_SECRETS: String(spycloud.includeSecrets),
    SPYCLOUD_REQUEST_TIMEOUT: isoDuration(spycloud.requestTimeout),
    SPYCLOUD_WINDOW_MAX_RECORDS: String(spycloud.windowMaxRecords),
    MQ_HOST: mq.host ?? fromRegistration,
    MQ_PORT: mq.port === undefined ? fromRegistration : String(mq.port),
    MQ_VHOST: mq.vhost ?? fromRegistration,
    MQ_USE_SSL: mq.useSsl === undefined ? fromRegistration : String(mq.useSsl),
    MQ_USER: mq.user ?? fromRegistration,
    MQ_PASS: mq.pass === undefined ? fromRegistration : mask
  } satisfies Record<SettingName, string>

  const width = Math.max(...settingNames.map((name) => name.length)) + 2
  const text = settingNames.map((name) => `${name.padEnd(width)}${shown[name]}`).join("\n")
  return scrubSecrets(text, secretValues(settings))
}

type Mode = "run" | "offline"

type Section = "opencti" | "connector" | "spycloud" | "mq"

type SectionKey<S extends Section, N extends SettingName = SettingName> = N extends
  `${Uppercase<S>}_${infer K}` ? Lowercase<K> : never

type SettingName = (typeof settingNames)[number]

type SecretName = "OPENCTI_TOKEN" | "SPYCLOUD_API_KEY" | "MQ_PASS"

type PlainName = Exclude<SettingName, SecretName>

/** In the order `check-config` prints them and the documentation lists them. */
const settingNames = [
  "OPENCTI_URL",
  "OPENCTI_TOKEN",
  "CONNECTOR_ID",
  "CONNECTOR_NAME",
  "CONNECTOR_SCOPE",
  "CONNECTOR_LOG_LEVEL",
  "CONNECTOR_DURATION_PERIOD",
  "CONNECTOR_RUN_AND_TERMINATE",
  "CONNECTOR_QUEUE_THRESHOLD",
  "CONNECTOR_QUEUE_PROTOCOL",
  "CONNECTOR_API_BUNDLE_MAX_OBJECTS",
  "SPYCLOUD_API_BASE_URL",
  "SPYCLOUD_API_KEY",
  "SPYCLOUD_SEVERITY_LEVELS",
  "SPYCLOUD_WATCHLIST_TYPES",
  "SPYCLOUD_TLP_LEVEL",
  "SPYCLOUD_IMPORT_START_DATE",
  "SPYCLOUD_INCLUDE_SECRETS",
  "SPYCLOUD_REQUEST_TIMEOUT",
  "SPYCLOUD_WINDOW_MAX_RECORDS",
  "MQ_HOST",
  "MQ_PORT",
  "MQ_VHOST",
  "MQ_USE_SSL",
  "MQ_USER",
  "MQ_PASS"
] as const

const secretNames: ReadonlyArray<SettingName> = ["OPENCTI_TOKEN", "SPYCLOUD_API_KEY", "MQ_PASS"]

const offlineNames: ReadonlyArray<SettingName> = [
  "CONNECTOR_NAME",
  "CONNECTOR_LOG_LEVEL",
  "SPYCLOUD_SEVERITY_LEVELS",
  "SPYCLOUD_WATCHLIST_TYPES",
  "SPYCLOUD_TLP_LEVEL",
  "SPYCLOUD_IMPORT_START_DATE",
  "SPYCLOUD_INCLUDE_SECRETS",
  "SPYCLOUD_REQUEST_TIMEOUT",
  "SPYCLOUD_WINDOW_MAX_RECORDS"
]

const sections: ReadonlyArray<Section> = ["opencti", "connector", "spycloud", "mq"]

/** The keys of a section of `config.yml`, in the order of {@link settingNames}. */
const keysOf = (section: Section): ReadonlyArray<string> =>
  settingNames.filter((name) => name.startsWith(`${section.toUpperCase()}_`)).map((name) =>
    name.slice(section.length + 1).toLowerCase()
  )

const sectionKeys: Record<Section, ReadonlyArray<string>> = {
  opencti: keysOf("opencti"),
  connector: keysOf("connector"),
  spycloud: keysOf("spycloud"),
  mq: keysOf("mq")
}

const defaults = {
  connectorName: "SpyCloud",
  scope: ["spycloud"],
  durationPeriod: Duration.hours(1),
  queueThresholdMb: 500,
  apiBundleMaxObjects: 5000,
  baseUrl: "https://api.spycloud.io/enterprise-v2/",
  tlpLevel: "amber+strict",
  importStartDate: "1970-01-01",
  requestTimeout: Duration.seconds(60),
  windowMaxRecords: 10_000
} as const

const offline = {
  url: "http://127.0.0.1:0",
  connectorId: "00000000-0000-0000-0000-000000000000",
  baseUrl: "http://127.0.0.1:0/"
} as const

const examples = {
  openctiUrl: "http://opencti:8080",
  connectorId: "4f3b8e52-7a0d-4c1e-9b6a-2d5c8f1e0a37"
} as const

const requiredHints = {
  OPENCTI_URL: `set it to the platform's address, e.g. ${examples.openctiUrl}.`,
  OPENCTI_TOKEN: "set it to the API token of the OpenCTI user the connector acts as.",
  CONNECTOR_ID: `set it to a UUID chosen once and kept, e.g. ${examples.connectorId}.`,
  SPYCLOUD_API_KEY: "set it to your SpyCloud Enterprise API key."
} as const

const fromRegistration = "(from registration)"

/** Node.js timers cannot wait longer than 2^31 - 1 ms; a longer wait would never end. */
const longestDuration = Duration.days(24)

const earliestMillis = Date.parse("0001-01-01T00:00:00Z")

interface RawSettings {
  readonly values: Partial<Record<PlainName, string>>
  readonly secrets: Partial<Record<SecretName, Redacted.Redacted<string>>>
}

interface Decoded {
  readonly settings: Settings
  readonly warnings: ReadonlyArray<string>
}

/** What is wrong with a value and what is accepted, as the end of a problem line. */
type Parse<A> = (text: string) => Either.Either<A, string>

interface SourceValues {
  readonly values: Record<string, Record<string, string>>
  readonly problems: ReadonlyArray<string>
}

const decodeWith = (
  provider: ConfigProvider.ConfigProvider,
  mode: Mode,
  sourceProblems: ReadonlyArray<string>
): Effect.Effect<Settings, ConnectorConfigError> =>
  Effect.gen(function*() {
    const raw = yield* provider.load(rawSettings(mode === "run" ? settingNames : offlineNames))
      .pipe(
        Effect.mapError((error: ConfigError.ConfigError) =>
          new ConnectorConfigError({ problems: [`The settings could not be read: ${error}`] })
        )
      )
    const now = yield* Clock.currentTimeMillis
    const decoded = decodeSettings(raw, mode, now)

    const problems = [...sourceProblems, ...(Either.isLeft(decoded) ? decoded.left : [])]
    if (Either.isLeft(decoded) || problems.length > 0) {
      const secrets = Object.values(raw.secrets).map(Redacted.value)
      return yield* new ConnectorConfigError({
        problems: problems.map((problem) => scrubSecrets(problem, secrets))
      })
    }
    yield* Effect.forEach(decoded.right.warnings, (warning) => Effect.logWarning(warning), {
      discard: true
    })
    return decoded.right.settings
  })

const rawSettings = (names: ReadonlyArray<SettingName>): Config.Config<RawSettings> =>
  Config.all(names.map(rawSetting)).pipe(
    Config.map((entries) => {
      const values: Partial<Record<string, string>> = {}
      const secrets: Partial<Record<string, Redacted.Redacted<string>>> = {}
      for (const [name, value] of entries) {
        if (value === undefined) continue
        if (Redacted.isRedacted(value)) secrets[name] = value
        else values[name] = value
      }
      return { values, secrets }
    })
  )

/** `SPYCLOUD_API_BASE_URL` is `api_base_url` in the `spycloud` section; blank means unset. */
const rawSetting = (
  name: SettingName
): Config.Config<readonly [SettingName, string | Redacted.Redacted<string> | undefined]> => {
  const separator = name.indexOf("_")
  const section = name.slice(0, separator).toLowerCase()
  const key = name.slice(separator + 1).toLowerCase()
  const text = Config.option(Config.string(key)).pipe(
    Config.nested(section),
    Config.map(Option.map((value) => value.trim())),
    Config.map(Option.filter((value) => value.length > 0))
  )
  return Config.map(text, (value) => {
    if (Option.isNone(value)) return [name, undefined] as const
    return [name, secretNames.includes(name) ? Redacted.make(value.value) : value.value] as const
  })
}

const decodeSettings = (
  raw: RawSettings,
  mode: Mode,
  now: number
): Either.Either<Decoded, ReadonlyArray<string>> => {
  const problems: Array<string> = []
  const warnings: Array<string> = []

  const optional = <A>(name: PlainName, parse: Parse<A>, fallback: A): A => {
    const text = raw.values[name]
    if (text === undefined) return fallback
    const parsed = parse(text)
    if (Either.isRight(parsed)) return parsed.right
    problems.push(`${name}: ${parsed.left}`)
    return fallback
  }
  const requiredInRun = <A>(
    name: "OPENCTI_URL" | "CONNECTOR_ID",
    parse: Parse<A>,
    placeholder: A
  ): A => {
    if (mode === "offline") return placeholder
    if (raw.values[name] === undefined) problems.push(`${name} is required: ${requiredHints[name]}`)
    return optional(name, parse, placeholder)
  }
  const secretInRun = (name: "OPENCTI_TOKEN" | "SPYCLOUD_API_KEY"): Redacted.Redacted<string> => {
    if (mode === "offline") return offlineSecret
    const value = raw.secrets[name]
    if (value === undefined) problems.push(`${name} is required: ${requiredHints[name]}`)
    return value ?? offlineSecret
  }
  const list = <A>(name: PlainName, parseItem: Parse<A>, fallback: ReadonlyArray<A>) => {
    const text = raw.values[name]
    if (text === undefined) return fallback
    const items: Array<A> = []
    for (const part of text.split(",").map((item) => item.trim()).filter((item) => item !== "")) {
      const parsed = parseItem(part)
      if (Either.isLeft(parsed)) problems.push(`${name}: ${parsed.left}`)
      else if (!items.includes(parsed.right)) items.push(parsed.right)
    }
    return items.length > 0 ? items : fallback
  }

  const durationPeriod = optional(
    "CONNECTOR_DURATION_PERIOD",
    duration({ zero: true, accepted: periodAccepted }),
    defaults.durationPeriod
  )
  const severityLevels = list("SPYCLOUD_SEVERITY_LEVELS", positiveInteger(severityAccepted), [])
  for (const code of severityLevels) {
    if (!documentedSeverityCodes.includes(code)) {
      warnings.push(
        `SPYCLOUD_SEVERITY_LEVELS: ${code} is not a severity code SpyCloud documents ` +
          `(${documentedSeverityCodes.join(", ")}); it is sent as configured.`
      )
    }
  }

  for (const name of ["OPENCTI_TOKEN", "SPYCLOUD_API_KEY", "MQ_PASS"] as const) {
    const secret = raw.secrets[name]
    if (secret !== undefined && Redacted.value(secret).length < minimumSecretLength) {
      warnings.push(
        `${name} is very short (under ${minimumSecretLength} characters); real tokens and keys ` +
          "are longer, and a value this short is not masked in logs. Check the value."
      )
    }
  }

  const settings: Settings = {
    opencti: {
      url: requiredInRun("OPENCTI_URL", httpUrl(examples.openctiUrl), offline.url),
      token: secretInRun("OPENCTI_TOKEN")
    },
    connector: {
      id: requiredInRun("CONNECTOR_ID", uuid, offline.connectorId),
      name: optional("CONNECTOR_NAME", Either.right, defaults.connectorName),
      scope: list("CONNECTOR_SCOPE", Either.right, defaults.scope),
      logLevel: optional("CONNECTOR_LOG_LEVEL", logLevel, "info"),
      durationPeriod,
      runAndTerminate: optional("CONNECTOR_RUN_AND_TERMINATE", boolean, false) ||
        Duration.isZero(durationPeriod),
      queueThresholdMb: optional(
        "CONNECTOR_QUEUE_THRESHOLD",
        positiveNumber("a queue size in MB, e.g. 500"),
        defaults.queueThresholdMb
      ),
      queueProtocol: optional("CONNECTOR_QUEUE_PROTOCOL", queueProtocol, "amqp"),
      apiBundleMaxObjects: optional(
        "CONNECTOR_API_BUNDLE_MAX_OBJECTS",
        positiveInteger("a number of objects, e.g. 5000"),
        defaults.apiBundleMaxObjects
      )
    },
    spycloud: {
      baseUrl: mode === "offline" ? offline.baseUrl : optional(
        "SPYCLOUD_API_BASE_URL",
        httpUrl(defaults.baseUrl),
        defaults.baseUrl
      ),
      apiKey: secretInRun("SPYCLOUD_API_KEY"),
      severityLevels,
      watchlistTypes: list("SPYCLOUD_WATCHLIST_TYPES", watchlistType, []),
      tlpLevel: optional("SPYCLOUD_TLP_LEVEL", tlpLevel, defaults.tlpLevel),
      importStartDate: optional(
        "SPYCLOUD_IMPORT_START_DATE",
        importStartDate(now),
        defaults.importStartDate
      ),
      includeSecrets: optional("SPYCLOUD_INCLUDE_SECRETS", boolean, false),
      requestTimeout: optional(
        "SPYCLOUD_REQUEST_TIMEOUT",
        duration({ zero: false, accepted: timeoutAccepted }),
        defaults.requestTimeout
      ),
      windowMaxRecords: optional(
        "SPYCLOUD_WINDOW_MAX_RECORDS",
        positiveInteger("a number of records, e.g. 10000"),
        defaults.windowMaxRecords
      )
    },
    mq: {
      host: raw.values.MQ_HOST,
      port: optional("MQ_PORT", port, undefined),
      vhost: raw.values.MQ_VHOST,
      useSsl: optional("MQ_USE_SSL", boolean, undefined),
      user: raw.values.MQ_USER,
      pass: raw.secrets.MQ_PASS
    }
  }
  return problems.length > 0
    ? Either.left(problems.sort((a, b) => settingRank(a) - settingRank(b)))
    : Either.right({ settings, warnings })
}

/** Problems are listed in the order of the settings they are about. */
const settingRank = (problem: string): number =>
  settingNames.findIndex((name) => name === /^[A-Z_]+/.exec(problem)?.[0])

const periodAccepted =
  "expected an ISO 8601 duration such as PT30M, PT1H or P1D, a number of seconds, or 0 to run once"

const timeoutAccepted =
  "expected an ISO 8601 duration such as PT60S or a number of seconds such as 60"

const severityAccepted =
  "severity codes such as 2, 5, 20, 25, 26, 30, comma-separated, or empty for all"

const httpUrl = (example: string): Parse<string> => (text) => {
  const url = URL.canParse(text) ? new URL(text) : undefined
  return url !== undefined && (url.protocol === "http:" || url.protocol === "https:") &&
      url.hostname !== ""
    ? Either.right(text)
    : Either.left(`${quote(text)} is not an http(s) URL; expected e.g. ${example}.`)
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const uuid: Parse<string> = (text) =>
  uuidPattern.test(text)
    ? Either.right(text)
    : Either.left(
      `${
        quote(text)
      } is not a UUID; expected one chosen once and kept, e.g. ${examples.connectorId}.`
    )

const boolean: Parse<boolean> = (text) => {
  const word = text.toLowerCase()
  if (word === "true" || word === "yes") return Either.right(true)
  if (word === "false" || word === "no") return Either.right(false)
  return Either.left(`${quote(text)} is not a boolean; accepted: true, false, yes, no.`)
}

const positiveInteger = (accepted: string): Parse<number> => (text) => {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
  return Number.isSafeInteger(value) && value > 0
    ? Either.right(value)
    : Either.left(`${quote(text)} is not a positive integer; accepted: ${accepted}.`)
}

const positiveNumber = (accepted: string): Parse<number> => (text) => {
  const value = /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : Number.NaN
  return Number.isFinite(value) && value > 0
    ? Either.right(value)
    : Either.left(`${quote(text)} is not a positive number; accepted: ${accepted}.`)
}

const port: Parse<number> = (text) => {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
  return value >= 1 && value <= 65_535
    ? Either.right(value)
    : Either.left(`${quote(text)} is not a port number; accepted: an integer from 1 to 65535.`)
}

const logLevel: Parse<LogLevelSetting> = (text) => {
  const level = text.toLowerCase()
  if (level === "warn" || level === "warning") return Either.right("warning")
  if (level === "debug" || level === "info" || level === "error") return Either.right(level)
  return Either.left(
    `${quote(text)} is not a log level; accepted: debug, info, warn, warning, error.`
  )
}

const queueProtocol: Parse<"amqp" | "api"> = (text) => {
  const protocol = text.toLowerCase()
  return protocol === "amqp" || protocol === "api"
    ? Either.right(protocol)
    : Either.left(`${quote(text)} is not a queue protocol; accepted: amqp, api.`)
}

const watchlistType: Parse<WatchlistType> = (text) => {
  const type = watchlistTypes.find((candidate) => candidate === text.toLowerCase())
  return type !== undefined
    ? Either.right(type)
    : Either.left(
      `${quote(text)} is not a watchlist type; accepted: ${watchlistTypes.join(", ")}, ` +
        "comma-separated, or empty for one unfiltered query."
    )
}

const tlpLevel: Parse<TlpLevel> = (text) => {
  const level = parseTlpLevel(text)
  return level !== undefined
    ? Either.right(level)
    : Either.left(`${quote(text)} is not a TLP level; accepted: ${tlpLevelsAccepted}.`)
}

const duration = (options: {
  readonly zero: boolean
  readonly accepted: string
}): Parse<Duration.Duration> =>
(text) => {
  const seconds = /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : undefined
  const iso = seconds === undefined ? parseIsoDuration(text) : undefined
  if (seconds === undefined && iso === undefined) {
    return Either.left(`${quote(text)} is not a duration; ${options.accepted}.`)
  }
  if (iso?.calendar === true) {
    return Either.left(
      `${quote(text)} counts years or months, which have no fixed length; use weeks, days, ` +
        "hours, minutes or seconds, e.g. P30D."
    )
  }
  const value = Duration.millis(seconds !== undefined ? seconds * 1000 : iso!.fixedMillis)
  if (Duration.isZero(value) && !options.zero) {
    return Either.left(`${quote(text)} is zero; ${options.accepted}.`)
  }
  if (Duration.greaterThan(value, longestDuration)) {
    return Either.left(
      `${quote(text)} is longer than 24 days, the longest wait a timer supports; use P24D or less.`
    )
  }
  return Either.right(value)
}

const importStartDate = (now: number): Parse<string> => (text) => {
  const instant = parseDateTime(text) ?? before(now, parseIsoDuration(text))
  if (instant === undefined || instant < earliestMillis) {
    return Either.left(
      `${quote(text)} is neither a date nor a duration; accepted: a date such as 2024-01-31, ` +
        "a date-time such as 2024-01-31T00:00:00Z, or an ISO 8601 duration such as P90D " +
        "for that long ago."
    )
  }
  const day = utcDay(instant)
  return day <= utcDay(now)
    ? Either.right(day)
    : Either.left(
      `${quote(text)} is in the future; the import starts at this date, so nothing could be ` +
        "imported. Use today or an earlier date, or a duration such as P90D."
    )
}

const utcDay = (millis: number): string => new Date(millis).toISOString().slice(0, 10)

interface IsoDuration {
  /** Whole years and months, the parts without a fixed length. */
  readonly months: number
  readonly calendar: boolean
  readonly fixedMillis: number
}

const number = String.raw`(\d+(?:[.,]\d+)?)`

const isoDurationPattern = new RegExp(
  `^P(?!$)(?:${number}Y)?(?:${number}M)?(?:${number}W)?(?:${number}D)?` +
    `(?:T(?=\\d)(?:${number}H)?(?:${number}M)?(?:${number}S)?)?$`,
  "i"
)

const parseIsoDuration = (text: string): IsoDuration | undefined => {
  const match = isoDurationPattern.exec(text)
  if (match === null) return undefined
  const [years, months, weeks, days, hours, minutes, seconds] = match.slice(1).map((part) =>
    part === undefined ? 0 : Number(part.replace(",", "."))
  ) as [number, number, number, number, number, number, number]
  if (!Number.isInteger(years) || !Number.isInteger(months)) return undefined
  return {
    months: years * 12 + months,
    calendar: match[1] !== undefined || match[2] !== undefined,
    fixedMillis: ((((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000
  }
}

/** The instant that long before `now`, months counted on the calendar (a month end clamps). */
const before = (now: number, ago: IsoDuration | undefined): number | undefined => {
  if (ago === undefined) return undefined
  const start = new Date(now)
  const day = start.getUTCDate()
  start.setUTCDate(1)
  start.setUTCMonth(start.getUTCMonth() - ago.months)
  const lastDay = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 0))
  start.setUTCDate(Math.min(day, lastDay.getUTCDate()))
  const instant = start.getTime() - ago.fixedMillis
  return Number.isFinite(instant) ? instant : undefined
}

const dateTimePattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i

/** A date or a date-time; without a zone it is UTC. */
const parseDateTime = (text: string): number | undefined => {
  const match = dateTimePattern.exec(text)
  if (match === null) return undefined
  const [year, month, day, hours, minutes, seconds] = match.slice(1, 7).map((part) =>
    part === undefined ? 0 : Number(part)
  ) as [number, number, number, number, number, number]
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hours, minutes, seconds)
  const valid = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day && hours < 24 && minutes < 60 && seconds < 60
  return valid ? date.getTime() - zoneOffsetMillis(match[7]) : undefined
}

const zoneOffsetMillis = (zone: string | undefined): number => {
  if (zone === undefined || zone.toUpperCase() === "Z") return 0
  const digits = zone.slice(1).replace(":", "")
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || "0")
  return (zone.startsWith("-") ? -1 : 1) * minutes * 60_000
}

const readConfigFile = (
  environment: ConfigProvider.ConfigProvider
): Effect.Effect<SourceValues> =>
  Effect.gen(function*() {
    const configured = yield* environment.load(Config.option(Config.string("CONFIG_FILE"))).pipe(
      Effect.map(Option.filter((path) => path.trim() !== "")),
      Effect.orElseSucceed(() => Option.none<string>())
    )
    const path = Option.getOrElse(configured, () => "config.yml").trim()
    const read = yield* Effect.promise(() =>
      readFile(path, "utf8").then(Either.right, (error: NodeJS.ErrnoException) =>
        Either.left(error.code ?? "unknown error"))
    )
    if (Either.isLeft(read)) {
      return noValues(...unreadableFile(path, read.left, Option.isSome(configured)))
    }

    const document = parseDocument(read.right)
    const [error] = document.errors
    if (error !== undefined) {
      // The parser's message quotes the offending lines, which may hold a secret: keep its first.
      const reason = error.message.split("\n")[0]!.replace(/:$/, "")
      return noValues(
        `${path} is not valid YAML: ${reason}; fix it or point CONFIG_FILE at another file.`
      )
    }
    return sectionValues(document.toJS(), path)
  })

const noValues = (...problems: ReadonlyArray<string>): SourceValues => ({ values: {}, problems })

/** Why `config.yml` could not be read and what to do about it, by the error's code. */
const unreadableFile = (
  path: string,
  code: string,
  configured: boolean
): ReadonlyArray<string> => {
  const file = configured ? `CONFIG_FILE: ${path}` : path
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return configured
        ? [
          `${file} does not exist; create it, or unset CONFIG_FILE to read ./config.yml when ` +
          "there is one."
        ]
        : []
    case "EISDIR":
      return [
        `${file} is a directory, not a file (Docker creates one where a file to mount is ` +
        "missing); point CONFIG_FILE at the YAML file itself."
      ]
    case "EACCES":
    case "EPERM":
      return [
        `${file} cannot be read: permission denied (${code}); let the user the connector runs ` +
        "as read it, or point CONFIG_FILE at another file."
      ]
    default:
      return [`${file} cannot be read (${code}); point CONFIG_FILE at another file.`]
  }
}

/**
 * Section values as strings; lists become comma-separated values. A section or key the connector
 * does not know is a problem: a misspelt setting would otherwise silently keep its default.
 */
const sectionValues = (document: unknown, origin: string): SourceValues => {
  if (document === null || document === undefined) return noValues()
  if (!isRecord(document)) {
    return noValues(
      `${origin} is not a mapping of sections; expected ${sections.map((s) => `${s}:`).join(", ")}.`
    )
  }
  const values: Record<string, Record<string, string>> = {}
  const problems: Array<string> = []
  for (const [section, entries] of Object.entries(document)) {
    if (!isSection(section)) {
      problems.push(
        `${origin}: ${section} is not a section; the sections are ${sections.join(", ")}.`
      )
      continue
    }
    if (entries === null || entries === undefined) continue
    if (!isRecord(entries)) {
      problems.push(`${origin}: ${section} is not a mapping of settings.`)
      continue
    }
    values[section] = {}
    for (const [key, value] of Object.entries(entries)) {
      if (!sectionKeys[section].includes(key)) {
        if (!isPythonConnectorType(section, key, value)) {
          problems.push(
            `${origin}: ${section}.${key} is not a setting; the ${section} settings are ` +
              `${sectionKeys[section].join(", ")}.`
          )
        }
        continue
      }
      const text = scalarText(value)
      if (text !== undefined) values[section][key] = text
      else if (value !== null) {
        problems.push(
          `${`${section}_${key}`.toUpperCase()}: ${section}.${key} in ${origin} is neither a ` +
            "single value nor a list."
        )
      }
    }
  }
  return { values, problems }
}

const isSection = (name: string): name is Section => sections.some((section) => section === name)

/**
 * The Python connector's `config.yml` declares `connector.type: EXTERNAL_IMPORT`; that is what
 * this connector is, so a file brought over from it is accepted as it stands.
 */
const isPythonConnectorType = (section: Section, key: string, value: unknown): boolean =>
  section === "connector" && key === "type" &&
  scalarText(value)?.trim().toUpperCase() === "EXTERNAL_IMPORT"

const scalarText = (value: unknown): string | undefined => {
  if (typeof value === "string") return value
  if (typeof value === "number" || typeof value === "boolean") return String(value)
  if (Redacted.isRedacted(value)) return scalarText(Redacted.value(value))
  if (Array.isArray(value) && value.every((item) => scalarText(item) !== undefined)) {
    return value.map(scalarText).join(",")
  }
  return undefined
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) &&
  !Redacted.isRedacted(value)

const quote = (text: string): string =>
  JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text)

const secretValues = (settings: Settings): ReadonlyArray<string> =>
  [settings.opencti.token, settings.spycloud.apiKey, settings.mq.pass].flatMap((secret) =>
    secret === undefined ? [] : [Redacted.value(secret)]
  )

const withoutPassword = (url: string): string => {
  const parsed = URL.canParse(url) ? new URL(url) : undefined
  if (parsed === undefined || parsed.password === "") return url
  parsed.password = mask
  return parsed.href
}

const isoDuration = (value: Duration.Duration): string => {
  const millis = Duration.toMillis(value)
  const days = Math.floor(millis / 86_400_000)
  const hours = Math.floor(millis / 3_600_000) % 24
  const minutes = Math.floor(millis / 60_000) % 60
  const seconds = (millis % 60_000) / 1000
  const time = [[hours, "H"], [minutes, "M"], [seconds, "S"]] as const
  const timePart = time.filter(([amount]) => amount > 0).map(([amount, unit]) => `${amount}${unit}`)
  const datePart = days > 0 ? `${days}D` : ""
  if (datePart === "" && timePart.length === 0) return "PT0S"
  return `P${datePart}${timePart.length > 0 ? `T${timePart.join("")}` : ""}`
}
