/**
 * Logs as OpenCTI's Python connectors write them: one JSON object per line on stderr with
 * `timestamp`, `level`, `name`, `message` and, when there is structured data, `attributes`.
 *
 * Log annotations and plain objects logged with the message become `attributes`; the cause of a
 * failure becomes `exc_info`. Every known secret is replaced by `********` in the whole line
 * before it is written, whatever the level (see `Redaction` for the rule on very short ones).
 *
 * @since 0.1.0
 */
import type { HashMap } from "effect"
import {
  Cause,
  Effect,
  FiberRef,
  HashSet,
  Inspectable,
  Layer,
  Logger,
  LogLevel,
  Redacted
} from "effect"
import type { LogLevelSetting, Settings } from "./ConnectorConfig.js"
import { ConnectorConfig, offlineSecret } from "./ConnectorConfig.js"
import { scrubber } from "./Redaction.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The `name` of every line: the connector name. */
  readonly name: string
  /** The lowest level written. */
  readonly level: LogLevelSetting
  /**
   * Values replaced by `********` wherever they appear; those shorter than
   * `Redaction.minimumSecretLength` are left in place.
   */
  readonly secrets?: ReadonlyArray<string | Redacted.Redacted<string>>
  /** Where each line goes, without its newline. Default: stderr. */
  readonly write?: (line: string) => void
}

/**
 * A logger that formats each entry as a pycti JSON line and hands it to `write`. It does not
 * filter by level: {@link layer} sets the minimum level.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Logger.Logger<unknown, void> => {
  const write = options.write ?? writeToStderr
  const scrub = scrubber(options.secrets ?? [])
  return Logger.make(({ annotations, cause, date, logLevel, message }) => {
    const entry = logEntry(options.name, logLevel, date, message, annotations, cause)
    write(scrub(serialize(entry)))
  })
}

/**
 * Makes the JSON logger the only logger and sets the minimum level.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<never> =>
  Layer.merge(
    Layer.scopedDiscard(
      Effect.locallyScoped(FiberRef.currentLoggers, HashSet.make(make(options)))
    ),
    Logger.minimumLogLevel(logLevel(options.level))
  )

/**
 * The logger for these settings: the connector name, `CONNECTOR_LOG_LEVEL`, and the API key, the
 * OpenCTI token and the broker password as secrets.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromSettings = (
  settings: Settings,
  write?: (line: string) => void
): Layer.Layer<never> =>
  layer({
    name: settings.connector.name,
    level: settings.connector.logLevel,
    secrets: secretsOf(settings),
    ...(write === undefined ? {} : { write })
  })

/**
 * {@link layerFromSettings} with the settings of the context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<never, never, ConnectorConfig> = Layer.unwrapEffect(
  Effect.map(ConnectorConfig, (settings) => layerFromSettings(settings))
)

/**
 * The secrets of the settings, placeholders of offline settings left out.
 *
 * @since 0.1.0
 * @category accessors
 */
export const secretsOf = (settings: Settings): ReadonlyArray<Redacted.Redacted<string>> =>
  [settings.opencti.token, settings.spycloud.apiKey, settings.mq.pass].filter(
    (secret): secret is Redacted.Redacted<string> =>
      secret !== undefined && secret !== offlineSecret
  )

/**
 * @since 0.1.0
 * @category accessors
 */
export const logLevel = (setting: LogLevelSetting): LogLevel.LogLevel => levels[setting]

const levels: Record<LogLevelSetting, LogLevel.LogLevel> = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error
}

/** Python's level names; Effect's extra levels fold into the nearest of them. */
const levelNames: Record<LogLevel.LogLevel["_tag"], string> = {
  All: "DEBUG",
  Trace: "DEBUG",
  Debug: "DEBUG",
  Info: "INFO",
  Warning: "WARNING",
  Error: "ERROR",
  Fatal: "ERROR",
  None: "ERROR"
}

interface LogEntry {
  readonly timestamp: string
  readonly level: string
  readonly name: string
  readonly message: string
  readonly attributes?: Record<string, unknown>
  readonly exc_info?: string
}

const logEntry = (
  name: string,
  level: LogLevel.LogLevel,
  date: Date,
  message: unknown,
  annotations: HashMap.HashMap<string, unknown>,
  cause: Cause.Cause<unknown>
): LogEntry => {
  const texts: Array<string> = []
  const attributes: Record<string, unknown> = {}
  for (const [key, value] of annotations) attributes[key] = value
  for (const part of Array.isArray(message) ? message : [message]) {
    if (isPlainObject(part)) Object.assign(attributes, part)
    else texts.push(messageText(part))
  }

  return {
    // JavaScript dates stop at milliseconds; Python's timestamps carry microseconds.
    timestamp: `${date.toISOString().slice(0, 23)}000Z`,
    level: levelNames[level._tag],
    name,
    message: texts.join(" "),
    ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    ...(Cause.isEmpty(cause) ? {} : { exc_info: Cause.pretty(cause, { renderErrorCause: true }) })
  }
}

const messageText = (part: unknown): string => {
  if (typeof part === "string") return part
  if (part instanceof Error) return `${part.name}: ${part.message}`
  return Inspectable.toStringUnknown(part, 0)
}

const serialize = (entry: LogEntry): string => {
  try {
    return JSON.stringify(entry, jsonValue)
  } catch {
    // A circular or otherwise unserializable attribute: keep the line, flatten the values.
    const attributes = Object.fromEntries(
      Object.entries(entry.attributes ?? {}).map(([key, value]) => [
        key,
        Inspectable.toStringUnknown(value, 0)
      ])
    )
    return JSON.stringify({ ...entry, attributes })
  }
}

const jsonValue = (_key: string, value: unknown): unknown => {
  if (typeof value === "bigint") return value.toString()
  if (value instanceof Error) return { name: value.name, message: value.message }
  return value
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== "object" || value === null) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

const writeToStderr = (line: string): void => {
  process.stderr.write(`${line}\n`)
}
