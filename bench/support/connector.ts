/**
 * The connector as the benchmarks run it: `Runner.runOnce` with the real HTTP SpyCloud client
 * against the simulator, the real converter, and the sink under test (bundle files, the OpenCTI
 * platform layer with its AMQP push, or a sink that only counts). Only the run itself is timed,
 * not the start of the process or the construction of the layers.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer } from "effect"
import type { ConfigInput } from "../../src/ConnectorConfig.js"
import * as ConnectorConfig from "../../src/ConnectorConfig.js"
import * as Converter from "../../src/Converter.js"
import { objectsOf } from "../../src/Ingestion.js"
import * as Logging from "../../src/Logging.js"
import { OpenCtiClient } from "../../src/OpenCtiClient.js"
import * as Files from "../../src/OpenCtiClient/Files.js"
import * as Platform from "../../src/OpenCtiClient/Platform.js"
import { runOnce } from "../../src/Runner.js"
import * as SpyCloudHttp from "../../src/SpyCloudApi/Http.js"
import * as StateStore from "../../src/StateStore.js"
import * as PlatformState from "../../src/StateStore/Platform.js"
import { peakRss, secondsSince } from "./stats.js"

/** What one run did and how long it took; the benchmark's children print it as JSON. */
export interface RunFigures {
  readonly records: number
  readonly rejected: number
  /** Incidents, observables and relationships; the author and the marking are not counted. */
  readonly objects: number
  readonly bundles: number
  /** Queue messages (AMQP), or bundle files. */
  readonly messages: number
  readonly seconds: number
  /** CPU time (user and system) of the connector's process during the run. */
  readonly cpuSeconds: number
  /** Peak RSS of the connector's process, in bytes. */
  readonly peakRss: number
}

export interface SpyCloudTarget {
  readonly baseUrl: string
  readonly apiKey: string
  /** The oldest day of the simulator's dataset. */
  readonly importStartDate: string
  /** `SPYCLOUD_WINDOW_MAX_RECORDS`; the connector's default when absent. */
  readonly windowMaxRecords?: number
}

export interface PlatformTarget {
  readonly url: string
  readonly token: string
  readonly connectorId: string
}

/** The sink the bundles go to. */
export type Sink =
  | { readonly kind: "files"; readonly dir: string }
  | { readonly kind: "platform"; readonly platform: PlatformTarget }
  | { readonly kind: "count" }

/** One import of everything the simulator holds, into `sink`. */
export const timedRun = (spycloud: SpyCloudTarget, sink: Sink): Promise<RunFigures> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const settings = yield* ConnectorConfig.fromObject(configOf(spycloud, sink))
      const layers = connectorLayers(sink).pipe(
        Layer.provideMerge(
          Layer.mergeAll(
            Layer.succeed(ConnectorConfig.ConnectorConfig, settings),
            NodeHttpClient.layerUndici,
            NodeContext.layer,
            Logging.layerFromSettings(settings)
          )
        )
      )
      return yield* Effect.scoped(Effect.gen(function*() {
        // Built before the clock starts: registration and the first ping are not the import.
        const context = yield* Layer.build(layers)
        const start = process.hrtime.bigint()
        const cpuAtStart = process.cpuUsage()
        const summary = yield* runOnce().pipe(Effect.provide(context))
        const cpu = process.cpuUsage(cpuAtStart)
        return {
          records: summary.records,
          rejected: summary.rejected,
          objects: objectsOf(summary),
          bundles: summary.bundles,
          messages: summary.messages,
          seconds: secondsSince(start),
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
          peakRss: peakRss()
        } satisfies RunFigures
      }))
    })
  )

/**
 * A sink that counts the objects it is given and keeps nothing.
 */
export const countingClient: Layer.Layer<OpenCtiClient> = Layer.sync(OpenCtiClient, () => {
  let works = 0
  return OpenCtiClient.of({
    register: Effect.succeed({ connectorId: "counting", connectorState: undefined }),
    ping: (state) => Effect.succeed(state),
    queueMessagesSize: Effect.succeed(0),
    startWork: () => Effect.sync(() => `work-${++works}`),
    finishWork: () => Effect.void,
    deleteWork: () => Effect.void,
    pushBundle: (bundle) => Effect.succeed({ messages: bundle.objects.length > 0 ? 1 : 0 })
  })
})

const configOf = (spycloud: SpyCloudTarget, sink: Sink): ConfigInput => {
  const platform = sink.kind === "platform" ? sink.platform : undefined
  return {
    opencti: {
      url: platform?.url ?? "http://127.0.0.1:9",
      token: platform?.token ?? "bench-token-unused"
    },
    connector: {
      id: platform?.connectorId ?? "00000000-0000-4000-8000-000000000000",
      name: "SpyCloud",
      log_level: "warning",
      run_and_terminate: true
    },
    spycloud: {
      api_base_url: spycloud.baseUrl,
      api_key: spycloud.apiKey,
      import_start_date: spycloud.importStartDate,
      ...(spycloud.windowMaxRecords === undefined
        ? {}
        : { window_max_records: spycloud.windowMaxRecords }),
      tlp_level: "amber"
    }
  }
}

const connectorLayers = (sink: Sink) => {
  const spycloud = Layer.merge(SpyCloudHttp.layer, Converter.layerConfig)
  switch (sink.kind) {
    case "files":
      return Layer.mergeAll(spycloud, Files.layer(sink.dir), StateStore.layerMemory())
    case "count":
      return Layer.mergeAll(spycloud, countingClient, StateStore.layerMemory())
    case "platform":
      return PlatformState.layer.pipe(Layer.provideMerge(Layer.merge(spycloud, Platform.layer)))
  }
}
