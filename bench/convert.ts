/**
 * Conversion throughput: synthetic watchlist records are decoded, converted, gathered into
 * bundles of 1000 records and serialised, on one thread. Each run is a fresh process, so its peak
 * RSS and its id cache start from nothing; the figures reported are the medians of the runs.
 *
 *   npx tsx bench/convert.ts [--records 100000] [--runs 5] [--batch 1000] [--seed 42]
 *                            [--cpu 0] [--semi-space <MB>]
 *
 * Runs are pinned to one CPU (`--cpu`, default 0) with `taskset` when it is installed. The V8
 * young generation can be enlarged with `--semi-space`, to see how much of the time goes to
 * collecting the objects a page keeps alive until its bundle is written.
 *
 * Only decoding, conversion, bundling and `JSON.stringify` are timed. Generating the synthetic
 * records a page at a time is not, nor is the JSON round trip each page then makes so that the
 * records are what the API client hands over: values parsed from a response body.
 */
import { Either } from "effect"
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import type { CatalogEntry } from "../src/BreachRecord.js"
import { decodeBreachRecord, decodeCatalogEntry } from "../src/BreachRecord.js"
import { make } from "../src/Converter.js"
import { makeDataset } from "../src/Simulator/Dataset.js"
import type { StixObject } from "../src/Stix.js"

interface RunResult {
  readonly records: number
  readonly rejected: number
  readonly objects: number
  readonly bundles: number
  readonly bytes: number
  readonly seconds: number
  readonly peakRssMb: number
}

const { values: options } = parseArgs({
  options: {
    records: { type: "string", default: "100000" },
    runs: { type: "string", default: "5" },
    batch: { type: "string", default: "1000" },
    seed: { type: "string", default: "42" },
    cpu: { type: "string", default: "0" },
    "semi-space": { type: "string" },
    child: { type: "boolean", default: false }
  }
})
const records = Number(options.records)
const runs = Number(options.runs)
const batch = Number(options.batch)
const seed = Number(options.seed)

const runOnce = (): RunResult => {
  const dataset = makeDataset({ seed, records, until: "2026-08-18", days: 30 })
  const converter = make({ connectorName: "SpyCloud", tlpLevel: "amber", includeSecrets: false })
  const catalog = new Map<number, CatalogEntry | undefined>()
  const catalogEntry = (id: number | undefined) => {
    if (id === undefined) return undefined
    if (!catalog.has(id)) catalog.set(id, decodeCatalogEntry(dataset.catalogEntry(id)))
    return catalog.get(id)
  }

  let rejected = 0
  let objects = 0
  let bundles = 0
  let bytes = 0
  let elapsed = 0n
  for (let start = 0; start < dataset.size; start += batch) {
    const generated: Array<unknown> = []
    for (let index = start; index < Math.min(start + batch, dataset.size); index++) {
      generated.push(dataset.recordAt(index))
    }
    const page = JSON.parse(JSON.stringify(generated)) as ReadonlyArray<unknown>

    const began = process.hrtime.bigint()
    const pageObjects: Array<StixObject> = []
    for (const raw of page) {
      const decoded = decodeBreachRecord(raw)
      if (Either.isLeft(decoded)) {
        rejected++
        continue
      }
      const conversion = converter.convert(decoded.right, catalogEntry(decoded.right.sourceId))
      for (const object of conversion.objects) pageObjects.push(object)
    }
    const bundle = converter.bundle(pageObjects)
    bytes += JSON.stringify(bundle).length
    elapsed += process.hrtime.bigint() - began

    objects += bundle.objects.length
    bundles++
  }

  return {
    records: dataset.size,
    rejected,
    objects,
    bundles,
    bytes,
    seconds: Number(elapsed) / 1e9,
    peakRssMb: process.resourceUsage().maxRSS / 1024
  }
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const format = (value: number): string => Math.round(value).toLocaleString("en-US")

const describe = (result: RunResult): string =>
  `${format(result.records / result.seconds)} records/s, ` +
  `${format(result.objects / result.seconds)} objects/s, ` +
  `peak RSS ${result.peakRssMb.toFixed(0)} MB ` +
  `(${format(result.records)} records, ${result.rejected} rejected, ${
    format(result.objects)
  } objects ` +
  `in ${result.bundles} bundles, ${(result.bytes / 1e6).toFixed(0)} MB of JSON, ` +
  `${result.seconds.toFixed(2)} s)`

if (options.child) {
  process.stdout.write(JSON.stringify(runOnce()))
} else {
  const taskset = ["/usr/bin/taskset", "/bin/taskset"].find((path) => existsSync(path))
  const node = [
    process.execPath,
    ...(options["semi-space"] === undefined
      ? []
      : [`--max-semi-space-size=${options["semi-space"]}`]),
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    ...process.argv.slice(2),
    "--child"
  ]
  const command = taskset === undefined ? node : [taskset, "-c", options.cpu, ...node]
  console.log(
    `Converting ${format(records)} records in bundles of ${batch}, ${runs} runs, ` +
      (taskset === undefined ? "not pinned (no taskset)" : `pinned to CPU ${options.cpu}`) +
      (options["semi-space"] === undefined ? "" : `, semi-space ${options["semi-space"]} MB`)
  )
  const results: Array<RunResult> = []
  for (let run = 1; run <= runs; run++) {
    const child = spawnSync(command[0]!, command.slice(1), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"]
    })
    if (child.status !== 0) throw new Error(`Run ${run} failed with exit code ${child.status}`)
    const result = JSON.parse(child.stdout) as RunResult
    results.push(result)
    console.log(`run ${run}: ${describe(result)}`)
  }

  const recordsPerSecond = median(results.map((result) => result.records / result.seconds))
  const objectsPerSecond = median(results.map((result) => result.objects / result.seconds))
  const peakRssMb = median(results.map((result) => result.peakRssMb))
  console.log(
    `median: ${format(recordsPerSecond)} records/s, ${format(objectsPerSecond)} objects/s, ` +
      `peak RSS ${peakRssMb.toFixed(0)} MB`
  )
  console.log(`target 50,000 records/s: ${recordsPerSecond >= 50_000 ? "met" : "not met"}`)
}
