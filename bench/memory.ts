/**
 * Memory: the peak RSS of the connector's process importing 100,000 and then 1,000,000 records
 * from the SpyCloud simulator (its own process) through the real HTTP client and the converter
 * into a sink that counts the objects and keeps nothing. Each import runs in a fresh process, so
 * the peaks are independent; streaming means the larger import should end barely above the
 * smaller one.
 *
 * Each size runs twice: with Node's default heap settings, and with a heap limit below 2 GB
 * (`--max-old-space-size=1024`). With a limit of 2 GB or more (Node's default on a host with
 * plenty of memory: 4 GB on the benchmark machine), V8 lets the heap grow to about four times what
 * is live before it compacts; below 2 GB, to at most twice, for some more CPU. The targets are
 * checked on each.
 *
 *   npx tsx bench/memory.ts [--sizes 100000,1000000] [--heap-limit 1024] [--runs 3] [--seed 42]
 *                           [--days 30]
 */
import { parseArgs } from "node:util"
import * as Window from "../src/Window.js"
import { buildChildren } from "./support/build.js"
import type { RunFigures } from "./support/connector.js"
import { runChild, startSimulator } from "./support/processes.js"
import { count, mebibytes, median, yesterday } from "./support/stats.js"

const { values: options } = parseArgs({
  options: {
    sizes: { type: "string", default: "100000,1000000" },
    "heap-limit": { type: "string", default: "1024" },
    runs: { type: "string", default: "3" },
    seed: { type: "string", default: "42" },
    days: { type: "string", default: "30" }
  }
})

const sizes = options.sizes.split(",").map(Number)
const runs = Number(options.runs)
const seed = Number(options.seed)
const days = Number(options.days)
const until = yesterday()
const importStartDate = Window.addDays(until, 1 - days)

/** Peak RSS at the largest size at most 250 MB, and at most 1.3 times the peak at the smallest. */
const targets = { peakBytes: 250e6, ratio: 1.3 }

interface Settings {
  readonly label: string
  readonly nodeFlags: ReadonlyArray<string>
}

const settings: ReadonlyArray<Settings> = [
  { label: "Node's default heap settings", nodeFlags: [] },
  {
    label: `--max-old-space-size=${options["heap-limit"]}`,
    nodeFlags: [`--max-old-space-size=${options["heap-limit"]}`]
  }
]

interface Peak {
  readonly rss: number
  readonly cpuSeconds: number
}

const measure = async (records: number, nodeFlags: ReadonlyArray<string>): Promise<Peak> => {
  const simulator = await startSimulator({ records, seed, until, days })
  const results: Array<RunFigures> = []
  try {
    for (let run = 1; run <= runs; run++) {
      const figures = await runChild<RunFigures>({
        kind: "connector",
        spycloud: { baseUrl: simulator.baseUrl, apiKey: simulator.apiKey, importStartDate },
        sink: { kind: "count" }
      }, { nodeFlags })
      results.push(figures)
      console.log(
        `  ${count(figures.records).padStart(9)} records: peak RSS ${
          mebibytes(figures.peakRss).toFixed(0)
        } MiB (${count(figures.objects)} objects in ${count(figures.bundles)} bundles, ` +
          `${figures.seconds.toFixed(1)} s, ${figures.cpuSeconds.toFixed(1)} s of CPU)`
      )
    }
  } finally {
    await simulator.stop()
  }
  return {
    rss: median(results.map((figures) => figures.peakRss)),
    cpuSeconds: median(results.map((figures) => figures.cpuSeconds))
  }
}

const verdict = (met: boolean) => (met ? "met" : "NOT MET")

buildChildren()
console.log(
  `Peak RSS of the connector's process into a sink that counts, ${runs} run(s) per size ` +
    `(MiB; the target's 250 MB is ${mebibytes(targets.peakBytes).toFixed(0)} MiB)`
)
const summaries: Array<string> = []
let allMet = true
for (const { label, nodeFlags } of settings) {
  console.log(`\n${label}:`)
  const peaks: Array<Peak> = []
  for (const size of sizes) peaks.push(await measure(size, nodeFlags))

  const smallest = peaks[0]!
  const largest = peaks[peaks.length - 1]!
  const ratio = largest.rss / smallest.rss
  const withinPeak = largest.rss <= targets.peakBytes
  const withinRatio = ratio <= targets.ratio
  allMet &&= withinPeak && withinRatio
  summaries.push(
    `${label}: ${
      sizes.map((size, index) => `${count(size)}: ${mebibytes(peaks[index]!.rss).toFixed(0)} MiB`)
        .join(", ")
    }, ratio ${ratio.toFixed(2)}; ${largest.cpuSeconds.toFixed(1)} s of CPU at ${
      count(sizes[sizes.length - 1]!)
    } (at most 250 MB: ${verdict(withinPeak)}; at most ${targets.ratio}×: ${verdict(withinRatio)})`
  )
}
console.log(`\n${summaries.join("\n")}`)
if (!allMet) process.exitCode = 1
