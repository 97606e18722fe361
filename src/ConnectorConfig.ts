/**
 * The connector's settings: `config.yml` (path from `CONFIG_FILE`, else `./config.yml`) and the
 * environment, the environment winning, with the names every OpenCTI connector uses.
 *
 * @since 0.1.0
 */
import type { Duration, Redacted } from "effect"
import { Context, Data } from "effect"
import type { WatchlistType } from "./BreachRecord.js"

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
    readonly durationPeriod: Duration.Duration
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
