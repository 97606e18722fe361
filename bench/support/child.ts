/**
 * One measured run in a fresh process: the benchmark passes the job as JSON in the first argument
 * and reads the figures as JSON from the last line of stdout. The connector's log goes to stderr.
 *
 *   node node_modules/.cache/spycloud-bench/bench/support/child.js '<job>'
 */
import { readFile } from "node:fs/promises"
import type { PushQueue } from "./broker.js"
import { publishCeiling } from "./broker.js"
import type { Sink, SpyCloudTarget } from "./connector.js"
import { timedRun } from "./connector.js"

/** What a child process is asked to do. */
export type Job =
  | { readonly kind: "connector"; readonly spycloud: SpyCloudTarget; readonly sink: Sink }
  /** The broker's ceiling: one message per size in `sizesFile` (an `Int32Array`). */
  | { readonly kind: "ceiling"; readonly target: PushQueue; readonly sizesFile: string }

/** What a ceiling run reports. */
export interface CeilingFigures {
  readonly messages: number
  readonly seconds: number
}

const run = async (job: Job): Promise<unknown> => {
  if (job.kind === "connector") return timedRun(job.spycloud, job.sink)
  const file = await readFile(job.sizesFile)
  return publishCeiling(job.target, new Int32Array(file.buffer, file.byteOffset, file.length / 4))
}

const result = await run(JSON.parse(process.argv[2]!) as Job)
process.stdout.write(`${JSON.stringify(result)}\n`)
