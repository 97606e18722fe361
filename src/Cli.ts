/**
 * The command line: `run`, `demo`, `convert` and `check-config`.
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Clock, Console, Data, Effect, Layer, Option, Predicate, Redacted } from "effect"
import { readdir, rm } from "node:fs/promises"
import { createRequire } from "node:module"
import { join } from "node:path"
import * as ConnectorConfig from "./ConnectorConfig.js"
import * as Converter from "./Converter.js"
import type { ImportSummary } from "./Ingestion.js"
import { bundlePage } from "./Ingestion.js"
import { readCatalog, readRecords } from "./Input.js"
import * as Logging from "./Logging.js"
import * as Files from "./OpenCtiClient/Files.js"
import * as Platform from "./OpenCtiClient/Platform.js"
import { runConnector, runOnce } from "./Runner.js"
import * as Simulator from "./Simulator/Server.js"
import * as SpyCloudHttp from "./SpyCloudApi/Http.js"
import * as SpyCloudMemory from "./SpyCloudApi/Memory.js"
import * as StateStore from "./StateStore.js"
import * as PlatformState from "./StateStore/Platform.js"
import type { Bundle } from "./Stix.js"
import * as Window from "./Window.js"

/**
 * The live connector: the SpyCloud API over HTTP, the converter, the OpenCTI platform (GraphQL
 * with AMQP or API push) and the state kept in the platform.
 *
 * @since 0.1.0
 * @category layers
 */
export const connectorLayer = PlatformState.layer.pipe(
  Layer.provideMerge(
    Layer.mergeAll(SpyCloudHttp.layer, Converter.layerConfig, Platform.layer).pipe(
      Layer.provideMerge(NodeHttpClient.layerUndici)
    )
  )
)

const run = Command.make(
  "run",
  {},
  () => runConnector.pipe(Effect.provide(connectorLayer), withSettings(ConnectorConfig.load))
).pipe(
  Command.withDescription("Run the connector next to an OpenCTI platform")
)

const checkConfig = Command.make(
  "check-config",
  {},
  () =>
    Effect.flatMap(
      ConnectorConfig.load,
      (settings) => Console.log(ConnectorConfig.formatSettings(settings))
    )
).pipe(
  Command.withDescription("Validate the settings `run` needs and print them, secrets masked")
)

const tlp = Options.text("tlp").pipe(
  Options.withDescription(
    `TLP marking of every object: ${ConnectorConfig.tlpLevelsAccepted} ` +
      "(default: SPYCLOUD_TLP_LEVEL)"
  ),
  Options.optional
)

/** The `--tlp` flag, read as `SPYCLOUD_TLP_LEVEL` is. */
const tlpOverride = (flag: Option.Option<string>) =>
  Option.match(flag, {
    onNone: () => Effect.succeed({}),
    onSome: (text) => {
      const level = ConnectorConfig.parseTlpLevel(text)
      return level === undefined
        ? Effect.fail(
          new CommandLineError({
            message: `--tlp: "${text}" is not a TLP level; accepted: ` +
              ConnectorConfig.tlpLevelsAccepted
          })
        )
        : Effect.succeed({ tlpLevel: level })
    }
  })

const demo = Command.make(
  "demo",
  {
    records: Options.integer("records").pipe(
      Options.withDefault(10_000),
      Options.withDescription("How many simulated breach records to import")
    ),
    out: Options.text("out").pipe(
      Options.withDefault("./out"),
      Options.withDescription("Directory the bundle files are written to")
    ),
    tlp
  },
  ({ out, records, tlp }) =>
    Effect.gen(function*() {
      if (records < 1 || records > demoMaxRecords) {
        return yield* new CommandLineError({
          message: `--records must be a whole number from 1 to ${demoMaxRecords}, not ${records}`
        })
      }
      const settings = yield* ConnectorConfig.ConnectorConfig
      yield* removeEarlierBundles(out)
      const today = Window.dayOf(yield* Clock.currentTimeMillis)
      const days = demoDays
      const simulator = yield* Simulator.start({ records, seed: demoSeed, until: today, days })
      const startedAt = yield* Clock.currentTimeMillis
      yield* Effect.logInfo("SpyCloud simulator listening").pipe(
        Effect.annotateLogs({ url: simulator.baseUrl, records })
      )

      const spycloud = SpyCloudHttp.layerWith({
        baseUrl: simulator.baseUrl,
        apiKey: Redacted.make(simulator.apiKey),
        requestTimeout: settings.spycloud.requestTimeout
      })
      const demoSettings: ConnectorConfig.Settings = {
        ...settings,
        spycloud: {
          ...settings.spycloud,
          importStartDate: Window.addDays(today, -days),
          ...(yield* tlpOverride(tlp))
        }
      }
      const summary = yield* runOnce().pipe(
        Effect.provide(
          Layer.mergeAll(
            spycloud.pipe(Layer.provide(NodeHttpClient.layerUndici)),
            Converter.layerConfig,
            Files.layer(out),
            StateStore.layerMemory()
          ).pipe(Layer.provideMerge(Layer.succeed(ConnectorConfig.ConnectorConfig, demoSettings)))
        )
      )
      const seconds = ((yield* Clock.currentTimeMillis) - startedAt) / 1000
      yield* Console.log(formatSummary(summary, seconds, out))
    }).pipe(Effect.scoped, withSettings(ConnectorConfig.loadOffline))
).pipe(
  Command.withDescription(
    "Import simulated SpyCloud records through the real HTTP client into bundle files"
  )
)

const convert = Command.make(
  "convert",
  {
    input: Options.file("input", { exists: "yes" }).pipe(
      Options.withDescription(
        "Watchlist response, JSON array of records or NDJSON (default: stdin)"
      ),
      Options.optional
    ),
    catalog: Options.file("catalog", { exists: "yes" }).pipe(
      Options.withDescription("JSON object mapping source id to its catalog response"),
      Options.optional
    ),
    tlp
  },
  ({ catalog, input, tlp }) =>
    Effect.gen(function*() {
      const settings = yield* ConnectorConfig.ConnectorConfig
      const page = yield* readRecords(input)
      const entries = yield* readCatalog(catalog)
      const converter = Converter.make({
        ...ConnectorConfig.conversionSettings(settings),
        ...(yield* tlpOverride(tlp))
      })
      const converted = yield* bundlePage(page).pipe(
        Effect.provideService(Converter.Converter, converter),
        Effect.provide(SpyCloudMemory.layer([], entries))
      )
      yield* writeBundle(converted.bundle ?? converter.bundle([]))
      if (converted.rejected > 0) {
        yield* Console.error(
          `Skipped ${converted.rejected} ${
            converted.rejected === 1 ? "record" : "records"
          } that could not be decoded; the warnings in the log say why`
        )
      }
    }).pipe(withSettings(ConnectorConfig.loadOffline))
).pipe(Command.withDescription("Convert exported SpyCloud JSON into one STIX 2.1 bundle on stdout"))

const root = Command.make("spycloud-connector").pipe(
  Command.withDescription("SpyCloud breach data into OpenCTI as STIX 2.1"),
  Command.withSubcommands([run, demo, convert, checkConfig])
)

/**
 * @since 0.1.0
 * @category cli
 */
export const cli = Command.run(root, {
  name: "SpyCloud connector for OpenCTI",
  version: (createRequire(import.meta.url)("../package.json") as { version: string }).version
})

/**
 * A command was given an option value it cannot use.
 *
 * @since 0.1.0
 * @category errors
 */
export class CommandLineError extends Data.TaggedError("CommandLineError")<{
  readonly message: string
}> {}

const demoSeed = 20_260_818
const demoDays = 30
const demoMaxRecords = 10_000_000

/**
 * Writes a bundle to stdout a few objects at a time: one string holding a large bundle would be
 * more than a JavaScript string can hold.
 */
const writeBundle = (bundle: Bundle) =>
  Effect.gen(function*() {
    yield* Console.log(`{"type":"bundle","id":${JSON.stringify(bundle.id)},"objects":[`)
    const objects = bundle.objects
    for (let start = 0; start < objects.length; start += objectsPerWrite) {
      const end = Math.min(start + objectsPerWrite, objects.length)
      const lines = objects.slice(start, end).map((object) => JSON.stringify(object))
      yield* Console.log(lines.join(",\n") + (end < objects.length ? "," : ""))
    }
    yield* Console.log("]}")
  })

const objectsPerWrite = 1000

/** `demo` writes bundle files numbered from 1: files of an earlier, longer demo would linger. */
const removeEarlierBundles = (directory: string) =>
  Effect.gen(function*() {
    const names = yield* Effect.promise(() => readdir(directory).catch(() => []))
    const earlier = names.filter((name) => /^bundle-\d+\.json$/.test(name))
    yield* Effect.forEach(earlier, (name) => Effect.promise(() => rm(join(directory, name))), {
      discard: true
    })
    if (earlier.length > 0) {
      yield* Effect.logInfo("Removed the bundle files of an earlier demo").pipe(
        Effect.annotateLogs({ directory, files: earlier.length })
      )
    }
  })

/** Loads the settings, then runs the command with them and with their logger. */
function withSettings<E>(load: Effect.Effect<ConnectorConfig.Settings, E>) {
  return <A, E2, R>(command: Effect.Effect<A, E2, R>) =>
    Effect.flatMap(load, (settings) =>
      command.pipe(
        Effect.tapError((error) =>
          isReported(error) ? Effect.void : Effect.logError(messageOf(error))
        ),
        Effect.provide(
          Layer.merge(
            Layer.succeed(ConnectorConfig.ConnectorConfig, settings),
            Logging.layerFromSettings(settings)
          )
        )
      ))
}

const formatSummary = (summary: ImportSummary, seconds: number, out: string): string => {
  const observables = Object.entries(summary.observables)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, count]) => `    ${type.padEnd(14)} ${count}`)
  return [
    `Imported into ${out}`,
    `  records          ${summary.records}`,
    `  skipped records  ${summary.rejected}`,
    `  incidents        ${summary.incidents}`,
    `  observables      ${Object.values(summary.observables).reduce((a, b) => a + b, 0)}`,
    ...observables,
    `  relationships    ${summary.relationships}`,
    `  bundles          ${summary.bundles}`,
    `  seconds          ${seconds.toFixed(2)}`
  ].join("\n")
}

const isReported = (error: unknown) => Predicate.isTagged(error, "RunFailed")

const messageOf = (error: unknown) =>
  typeof error === "object" && error !== null && "message" in error
    ? String(error.message)
    : String(error)
