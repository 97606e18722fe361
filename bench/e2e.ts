/**
 * End-to-end throughput: the SpyCloud simulator (its own process) → the real HTTP client → the
 * converter → (a) bundle files in a temporary directory, (b) the OpenCTI platform layer pushing to
 * the local RabbitMQ broker with publisher confirms. Every run is a fresh connector process doing
 * `Runner.runOnce` over the whole dataset; the figures printed last are medians.
 *
 * The broker part registers with a fake OpenCTI platform (GraphQL only; it runs in this process,
 * and declares a queue of its own for each run on the real broker). After each connector run the
 * broker's ceiling is measured on the same queue: a bare amqplib confirm-channel publisher sending
 * as many messages of the same sizes as fast as the broker takes them. The queue is read back
 * (which checks the message count and gives the sizes) or purged after every run, and deleted at
 * the end.
 *
 *   npx tsx bench/e2e.ts [--records 100000] [--broker-records N] [--runs 3] [--seed 42]
 *                        [--days 30] [--only files|broker] [--window-max-records N]
 *                        [--profile <dir of CPU profiles>]
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
import type { Job } from "./support/child.js"
import type { PlatformTarget, RunFigures, SpyCloudTarget } from "./support/connector.js"
import type { SimulatorCounters, SimulatorProcess } from "./support/processes.js"
import { runChild, startSimulator } from "./support/processes.js"
import { count, mebibytes, median, yesterday } from "./support/stats.js"

interface CeilingFigures {
  readonly messages: number
  readonly seconds: number
}

const { values: options } = parseArgs({
  options: {
    records: { type: "string", default: "100000" },
    "broker-records": { type: "string" },
    runs: { type: "string", default: "3" },
    seed: { type: "string", default: "42" },
    days: { type: "string", default: "30" },
    only: { type: "string" },
    "window-max-records": { type: "string" },
    profile: { type: "string" }
  }
})

/** With `--profile <dir>`, every connector run writes a CPU profile there. */
const inChild = <A>(job: Job): Promise<A> =>
  runChild<A>(job, {
    nodeFlags: options.profile === undefined || job.kind !== "connector"
      ? []
      : ["--cpu-prof", `--cpu-prof-dir=${options.profile}`]
  })

// -----------------------------------------------------------------------------------------------

const records = Number(options.records)
const brokerRecords = Number(options["broker-records"] ?? options.records)
const runs = Number(options.runs)
const seed = Number(options.seed)
const days = Number(options.days)
const until = yesterday()
const importStartDate = Window.addDays(until, 1 - days)

const rate = (amount: number, seconds: number) => `${count(amount / seconds)}`

const connectorLine = (figures: RunFigures, unit: string) =>
  `${rate(figures.records, figures.seconds)} records/s, ` +
  `${rate(figures.objects, figures.seconds)} objects/s, ` +
  `${rate(figures.messages, figures.seconds)} ${unit}/s, ` +
  `${rate(figures.records, figures.cpuSeconds)} records per CPU second, ` +
  `peak RSS ${mebibytes(figures.peakRss).toFixed(0)} MiB ` +
  `(${count(figures.records)} records, ${count(figures.objects)} objects, ` +
  `${count(figures.bundles)} bundles, ${count(figures.messages)} ${unit}, ` +
  `${figures.seconds.toFixed(2)} s)`

/** One catalog request per distinct source id, or the ids asked more often. */
const catalogLine = (counters: SimulatorCounters) => {
  const perId = Object.entries(counters.catalog)
  const requests = perId.reduce((total, [, times]) => total + times, 0)
  const repeated = perId.filter(([, times]) => times > 1).map(([id, times]) => `${id}×${times}`)
  return `catalog: ${requests} requests for ${perId.length} source ids` +
    (repeated.length === 0 ? " (one each)" : `; asked more than once: ${repeated.join(", ")}`) +
    `; watchlist: ${counters.watchlist} pages`
}

const checkCatalog = (counters: SimulatorCounters): boolean =>
  Object.values(counters.catalog).every((times) => times === 1)

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

interface FilesResult {
  readonly recordsPerSecond: number
  readonly objectsPerSecond: number
  readonly peakRss: number
  readonly catalogOk: boolean
}

const benchFiles = (): Promise<FilesResult> =>
  withSimulator(records, async (simulator, spycloud) => {
    console.log(`\nTo bundle files: ${count(records)} records, ${runs} runs`)
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
        catalogOk &&= checkCatalog(counters)
        results.push(figures)
        console.log(
          `run ${run}: ${connectorLine(figures, "files")}, ` +
            `${(written / 1e6).toFixed(0)} MB written`
        )
        console.log(`       ${catalogLine(counters)}`)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    }
    return {
      recordsPerSecond: median(results.map((r) => r.records / r.seconds)),
      objectsPerSecond: median(results.map((r) => r.objects / r.seconds)),
      peakRss: median(results.map((r) => r.peakRss)),
      catalogOk
    }
  })

interface BrokerResult {
  readonly recordsPerSecond: number
  readonly messagesPerSecond: number
  readonly ceilingPerSecond: number
  readonly peakRss: number
  readonly catalogOk: boolean
}

const benchBroker = (): Promise<BrokerResult> =>
  withSimulator(brokerRecords, async (simulator, spycloud) => {
    console.log(
      `\nTo RabbitMQ with publisher confirms: ${count(brokerRecords)} records, ${runs} runs`
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
        const target: PlatformTarget = {
          url: platform.url,
          token: platform.token,
          connectorId: randomUUID()
        }
        const queue: PushQueue = {
          exchange: workerExchange,
          routingKey: pushRouting(target.connectorId),
          queue: pushQueue(target.connectorId)
        }
        const figures = await inChild<RunFigures>({
          kind: "connector",
          spycloud,
          sink: { kind: "platform", platform: target }
        })
        const counters = await simulator.counters()
        catalogOk &&= checkCatalog(counters)

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

        const connectorRate = figures.messages / figures.seconds
        const ceilingRate = bare.messages / bare.seconds
        console.log(`run ${run}: ${connectorLine(figures, "messages")}`)
        console.log(`       ${catalogLine(counters)}`)
        console.log(
          `       ceiling: ${rate(bare.messages, bare.seconds)} messages/s ` +
            `(${bare.seconds.toFixed(2)} s); connector at ${
              (100 * connectorRate / ceilingRate).toFixed(0)
            }% of it`
        )
      }
    } finally {
      process.removeListener("SIGINT", closeOnInterrupt)
      await platform.close()
      await rm(scratch, { recursive: true, force: true })
    }
    const totalBytes = sizes?.reduce((total, size) => total + size, 0) ?? 0
    console.log(`       messages average ${(totalBytes / (sizes?.length ?? 1)).toFixed(0)} bytes`)
    return {
      recordsPerSecond: median(connector.map((r) => r.records / r.seconds)),
      messagesPerSecond: median(connector.map((r) => r.messages / r.seconds)),
      ceilingPerSecond: median(ceiling.map((r) => r.messages / r.seconds)),
      peakRss: median(connector.map((r) => r.peakRss)),
      catalogOk
    }
  })

const verdict = (met: boolean) => (met ? "met" : "NOT MET")

const main = async () => {
  let allMet = true
  const lines: Array<string> = []
  if (options.only !== "broker") {
    const files = await benchFiles()
    const met = files.recordsPerSecond >= 20_000
    allMet &&= met && files.catalogOk
    lines.push(
      `files:  ${count(files.recordsPerSecond)} records/s, ${count(files.objectsPerSecond)} ` +
        `objects/s, peak RSS ${mebibytes(files.peakRss).toFixed(0)} MiB ` +
        `(target 20,000 records/s: ${verdict(met)}; one catalog request per source: ${
          verdict(files.catalogOk)
        })`
    )
  }
  if (options.only !== "files") {
    const broker = await benchBroker()
    const share = broker.messagesPerSecond / broker.ceilingPerSecond
    allMet &&= share >= 0.8 && broker.catalogOk
    lines.push(
      `broker: ${count(broker.recordsPerSecond)} records/s, ${count(broker.messagesPerSecond)} ` +
        `messages/s, ceiling ${count(broker.ceilingPerSecond)} messages/s, ${
          (100 * share).toFixed(0)
        }% of the ceiling, peak RSS ${mebibytes(broker.peakRss).toFixed(0)} MiB ` +
        `(target 80%: ${verdict(share >= 0.8)}; one catalog request per source: ${
          verdict(broker.catalogOk)
        })`
    )
  }
  console.log(`\nmedians of ${runs} runs:\n${lines.join("\n")}`)
  if (!allMet) process.exitCode = 1
}

buildChildren()
await main()
