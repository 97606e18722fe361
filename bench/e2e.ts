/**
 * End-to-end throughput: the SpyCloud simulator (its own process) → the real HTTP client → the
 * converter → (a) bundle files in a temporary directory, (b) the OpenCTI platform layer pushing to
 * the local RabbitMQ broker with publisher confirms. Every run is a fresh connector process doing
 * `Runner.runOnce` over the whole dataset; the figures printed last are medians.
 *
 * The broker part registers with a fake OpenCTI platform (GraphQL only; it runs in this process
 * and declares, on the real broker, a queue of its own for each run's connector). Right after each
 * connector run, the broker's ceiling is measured on the same queue: a bare amqplib confirm-channel
 * publisher sending as many messages, of the same sizes, as fast as the broker takes them. The
 * queue is read back after the first run (which checks the message count and gives the sizes),
 * purged after every run, and deleted at the end.
 *
 *   npx tsx bench/e2e.ts [--records 100000] [--broker-records N] [--runs 3] [--seed 42]
 *                        [--days 30] [--only files|broker] [--window-max-records N]
 *                        [--heap-limit <MB, the connector's --max-old-space-size>]
 *                        [--profile <directory for the connector runs' CPU profiles>]
 */
import { randomUUID } from "node:crypto"
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import * as Window from "../src/Window.js"
import {
  pushQueue,
  pushRouting,
  startFakeOpenCti,
  workerExchange
} from "../test/support/FakeOpenCti.js"
import type { PushQueue } from "./support/broker.js"
import { brokerReachable, drainSizes, purgeQueue, queueLength } from "./support/broker.js"
import { buildChildren } from "./support/build.js"
import type { CeilingFigures, Job } from "./support/child.js"
import type { RunFigures, SpyCloudTarget } from "./support/connector.js"
import type { SimulatorCounters, SimulatorProcess } from "./support/processes.js"
import { runChild, startSimulator } from "./support/processes.js"
import { count, mebibytes, median, yesterday } from "./support/stats.js"

const { values: options } = parseArgs({
  options: {
    records: { type: "string", default: "100000" },
    "broker-records": { type: "string" },
    runs: { type: "string", default: "3" },
    seed: { type: "string", default: "42" },
    days: { type: "string", default: "30" },
    only: { type: "string" },
    "window-max-records": { type: "string" },
    "heap-limit": { type: "string" },
    profile: { type: "string" }
  }
})

const records = Number(options.records)
const brokerRecords = Number(options["broker-records"] ?? options.records)
const runs = Number(options.runs)
const seed = Number(options.seed)
const days = Number(options.days)
const until = yesterday()
const importStartDate = Window.addDays(until, 1 - days)

const targets = { filesRecordsPerSecond: 20_000, shareOfCeiling: 0.8 }

interface FilesResult {
  readonly recordsPerSecond: number
  readonly recordsPerCpuSecond: number
  readonly objectsPerSecond: number
  readonly peakRss: number
  readonly catalogOk: boolean
}

const benchFiles = (): Promise<FilesResult> =>
  withSimulator(records, async (simulator, spycloud) => {
    console.log(`\nTo bundle files: ${count(records)} records, ${runs} run(s)`)
    const results: Array<RunFigures> = []
    let catalogOk = true
    for (let run = 1; run <= runs; run++) {
      await simulator.resetCounters()
      const dir = await mkdtemp(join(tmpdir(), "spycloud-bench-files-"))
      try {
        const figures = await inChild<RunFigures>({
          kind: "connector",
          spycloud,
          sink: { kind: "files", dir }
        })
        const written = await directorySize(dir)
        const counters = await simulator.counters()
        catalogOk &&= oneRequestPerSource(counters)
        results.push(figures)
        console.log(
          `run ${run}: ${connectorLine(figures, "files")}, ${(written / 1e6).toFixed(0)} MB written`
        )
        console.log(`       ${requestsLine(counters)}`)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    }
    return {
      recordsPerSecond: median(results.map((r) => r.records / r.seconds)),
      recordsPerCpuSecond: median(results.map((r) => r.records / r.cpuSeconds)),
      objectsPerSecond: median(results.map((r) => r.objects / r.seconds)),
      peakRss: median(results.map((r) => r.peakRss)),
      catalogOk
    }
  })

interface BrokerResult {
  readonly recordsPerSecond: number
  readonly messagesPerSecond: number
  readonly ceilingPerSecond: number
  /** The median of each run's connector rate over the ceiling measured right after it. */
  readonly shareOfCeiling: number
  readonly peakRss: number
  readonly catalogOk: boolean
}

const benchBroker = (): Promise<BrokerResult> =>
  withSimulator(brokerRecords, async (simulator, spycloud) => {
    console.log(
      `\nTo RabbitMQ with publisher confirms: ${count(brokerRecords)} records, ${runs} run(s)`
    )
    if (!(await brokerReachable())) {
      throw new Error(
        "RabbitMQ is not reachable at 127.0.0.1:5672 (guest/guest); the broker part needs it."
      )
    }
    const platform = await startFakeOpenCti()
    // The queues hold hundreds of MB of persistent messages: never leave them behind.
    const closeOnInterrupt = () => {
      platform.close().finally(() => process.exit(130))
    }
    process.once("SIGINT", closeOnInterrupt)
    const scratch = await mkdtemp(join(tmpdir(), "spycloud-bench-broker-"))
    const sizesFile = join(scratch, "sizes")
    const connector: Array<RunFigures> = []
    const ceiling: Array<CeilingFigures> = []
    let sizes: Int32Array | undefined
    let catalogOk = true
    try {
      for (let run = 1; run <= runs; run++) {
        await simulator.resetCounters()
        // A connector of its own per run: a fresh state, and a queue of its own.
        const connectorId = randomUUID()
        const queue: PushQueue = {
          exchange: workerExchange,
          routingKey: pushRouting(connectorId),
          queue: pushQueue(connectorId)
        }
        const figures = await inChild<RunFigures>({
          kind: "connector",
          spycloud,
          sink: {
            kind: "platform",
            platform: { url: platform.url, token: platform.token, connectorId }
          }
        })
        const counters = await simulator.counters()
        catalogOk &&= oneRequestPerSource(counters)

        const queued = await queueLength(queue.queue)
        if (queued !== figures.messages) {
          throw new Error(
            `The connector reported ${figures.messages} messages; the queue holds ${queued}`
          )
        }
        if (sizes === undefined) {
          sizes = await drainSizes(queue.queue)
          await writeFile(sizesFile, sizes)
        } else {
          await purgeQueue(queue.queue)
        }
        if (sizes.length !== figures.messages) {
          throw new Error(
            `Run ${run} sent ${figures.messages} messages, run 1 sent ${sizes.length}`
          )
        }

        const bare = await inChild<CeilingFigures>({ kind: "ceiling", target: queue, sizesFile })
        await purgeQueue(queue.queue)
        connector.push(figures)
        ceiling.push(bare)

        console.log(`run ${run}: ${connectorLine(figures, "messages")}`)
        console.log(`       ${requestsLine(counters)}`)
        console.log(
          `       ceiling: ${count(bare.messages / bare.seconds)} messages/s ` +
            `(${bare.seconds.toFixed(2)} s); the connector at ${
              percent(shareOf(figures, bare))
            } of it`
        )
      }
    } finally {
      process.removeListener("SIGINT", closeOnInterrupt)
      await platform.close()
      await rm(scratch, { recursive: true, force: true })
    }
    const bytes = sizes?.reduce((total, size) => total + size, 0) ?? 0
    console.log(`       messages of ${(bytes / (sizes?.length ?? 1)).toFixed(0)} bytes on average`)
    return {
      recordsPerSecond: median(connector.map((r) => r.records / r.seconds)),
      messagesPerSecond: median(connector.map((r) => r.messages / r.seconds)),
      ceilingPerSecond: median(ceiling.map((r) => r.messages / r.seconds)),
      shareOfCeiling: median(connector.map((r, index) => shareOf(r, ceiling[index]!))),
      peakRss: median(connector.map((r) => r.peakRss)),
      catalogOk
    }
  })

const main = async () => {
  let allMet = true
  const lines: Array<string> = []
  if (options.only !== "broker") {
    const files = await benchFiles()
    const met = files.recordsPerSecond >= targets.filesRecordsPerSecond
    allMet &&= met && files.catalogOk
    lines.push(
      `files:  ${count(files.recordsPerSecond)} records/s (${
        count(files.recordsPerCpuSecond)
      } per CPU second), ${count(files.objectsPerSecond)} objects/s, peak RSS ${
        mebibytes(files.peakRss).toFixed(0)
      } MiB (target ${count(targets.filesRecordsPerSecond)} records/s: ${verdict(met)}; ` +
        `one catalog request per source: ${verdict(files.catalogOk)})`
    )
  }
  if (options.only !== "files") {
    const broker = await benchBroker()
    const met = broker.shareOfCeiling >= targets.shareOfCeiling
    allMet &&= met && broker.catalogOk
    lines.push(
      `broker: ${count(broker.recordsPerSecond)} records/s, ${
        count(broker.messagesPerSecond)
      } messages/s, ceiling ${count(broker.ceilingPerSecond)} messages/s; the connector at ${
        percent(broker.shareOfCeiling)
      } of the ceiling, peak RSS ${mebibytes(broker.peakRss).toFixed(0)} MiB (target ${
        percent(targets.shareOfCeiling)
      }: ${verdict(met)}; one catalog request per source: ${verdict(broker.catalogOk)})`
    )
  }
  console.log(`\nmedians of ${runs} run(s):\n${lines.join("\n")}`)
  if (!allMet) process.exitCode = 1
}

/** The connector runs get the heap limit, and write CPU profiles, when asked to. */
const inChild = <A>(job: Job): Promise<A> =>
  runChild<A>(job, {
    nodeFlags: job.kind !== "connector" ? [] : [
      ...(options["heap-limit"] === undefined
        ? []
        : [`--max-old-space-size=${options["heap-limit"]}`]),
      ...(options.profile === undefined
        ? []
        : ["--cpu-prof", `--cpu-prof-dir=${options.profile}`])
    ]
  })

const withSimulator = async <A>(
  size: number,
  use: (simulator: SimulatorProcess, spycloud: SpyCloudTarget) => Promise<A>
): Promise<A> => {
  const simulator = await startSimulator({ records: size, seed, until, days })
  try {
    return await use(simulator, {
      baseUrl: simulator.baseUrl,
      apiKey: simulator.apiKey,
      importStartDate,
      ...(options["window-max-records"] === undefined
        ? {}
        : { windowMaxRecords: Number(options["window-max-records"]) })
    })
  } finally {
    await simulator.stop()
  }
}

const directorySize = async (dir: string): Promise<number> => {
  let total = 0
  for (const file of await readdir(dir)) total += (await stat(join(dir, file))).size
  return total
}

const shareOf = (run: RunFigures, ceiling: CeilingFigures): number =>
  (run.messages / run.seconds) / (ceiling.messages / ceiling.seconds)

const oneRequestPerSource = (counters: SimulatorCounters): boolean =>
  Object.values(counters.catalog).every((times) => times === 1)

/** The catalog requests (one per distinct source id, or the ids asked more often) and pages. */
const requestsLine = (counters: SimulatorCounters) => {
  const perId = Object.entries(counters.catalog)
  const requests = perId.reduce((total, [, times]) => total + times, 0)
  const repeated = perId.filter(([, times]) => times > 1).map(([id, times]) => `${id}×${times}`)
  return `catalog: ${requests} requests for ${perId.length} source ids` +
    (repeated.length === 0 ? " (one each)" : `; asked more than once: ${repeated.join(", ")}`) +
    `; watchlist: ${counters.watchlist} page requests`
}

const connectorLine = (figures: RunFigures, unit: string) =>
  `${count(figures.records / figures.seconds)} records/s, ` +
  `${count(figures.objects / figures.seconds)} objects/s, ` +
  `${count(figures.messages / figures.seconds)} ${unit}/s, ` +
  `${count(figures.records / figures.cpuSeconds)} records per CPU second, ` +
  `peak RSS ${mebibytes(figures.peakRss).toFixed(0)} MiB ` +
  `(${count(figures.records)} records, ${count(figures.objects)} objects, ` +
  `${count(figures.bundles)} bundles, ${count(figures.messages)} ${unit}, ` +
  `${figures.seconds.toFixed(2)} s)`

const percent = (share: number) => `${(100 * share).toFixed(0)}%`

const verdict = (met: boolean) => (met ? "met" : "NOT MET")

buildChildren()
await main()
