/**
 * Memory: the peak RSS of the connector's process importing 100,000 and then 1,000,000 records
 * from the SpyCloud simulator (its own process) through the real HTTP client and the converter
 * into a sink that counts the objects and keeps nothing. Each import runs in a fresh process, so
 * the two peaks are independent; streaming means the second should be barely above the first.
 *
 *   npx tsx bench/memory.ts [--sizes 100000,1000000] [--runs 1] [--seed 42] [--days 30]
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
    runs: { type: "string", default: "1" },
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

/** Maximum peak RSS at the largest size, and the largest peak over the smallest. */
const targets = { peakMiB: 250e6 / 1_048_576, ratio: 1.3 }

const peakAt = async (records: number): Promise<number> => {
  const simulator = await startSimulator({ records, seed, until, days })
  const peaks: Array<number> = []
  try {
    for (let run = 1; run <= runs; run++) {
      const figures = await runChild<RunFigures>({
        kind: "connector",
        spycloud: { baseUrl: simulator.baseUrl, apiKey: simulator.apiKey, importStartDate },
        sink: { kind: "count" }
      })
      peaks.push(figures.peakRss)
      console.log(
        `${count(figures.records).padStart(9)} records: peak RSS ${
          mebibytes(figures.peakRss).toFixed(0)
        } MiB (${count(figures.objects)} objects in ${count(figures.bundles)} bundles, ${
          count(figures.records / figures.seconds)
        } records/s)`
      )
    }
  } finally {
    await simulator.stop()
  }
  return median(peaks)
}

buildChildren()
console.log(`Peak RSS of the connector's process, ${runs} run(s) per size, sink that counts`)
const peaks: Array<number> = []
for (const size of sizes) peaks.push(await peakAt(size))

const smallest = peaks[0]!
const largest = peaks[peaks.length - 1]!
const ratio = largest / smallest
const withinPeak = mebibytes(largest) <= targets.peakMiB
const withinRatio = ratio <= targets.ratio
console.log(
  `\npeak RSS ${
    sizes.map((size, index) => `${count(size)}: ${mebibytes(peaks[index]!).toFixed(0)} MiB`)
      .join(", ")
  }; ratio ${ratio.toFixed(2)}` +
    ` (targets: at most 250 MB (${targets.peakMiB.toFixed(0)} MiB): ${
      withinPeak ? "met" : "NOT MET"
    }; at most ${targets.ratio}×: ${withinRatio ? "met" : "NOT MET"})`
)
if (!withinPeak || !withinRatio) process.exitCode = 1
