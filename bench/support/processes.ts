/**
 * Child processes of a benchmark, compiled beforehand (`build.ts`): each measured run gets a
 * fresh Node process (its own heap, its own peak RSS), and the SpyCloud simulator runs in a
 * process of its own.
 */
import type { ChildProcessByStdio } from "node:child_process"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import type { Readable, Writable } from "node:stream"
import { compiled } from "./build.js"
import type { Job } from "./child.js"

/**
 * Node flags for the children, e.g. `["--cpu-prof", "--cpu-prof-dir=prof"]` to profile them.
 */
export interface ChildOptions {
  readonly nodeFlags?: ReadonlyArray<string>
}

/**
 * Runs `job` in a child process and returns the JSON it prints as its last line on stdout. Its
 * stderr (the connector's log) goes to ours.
 */
export const runChild = <A>(job: Job, options: ChildOptions = {}): Promise<A> =>
  new Promise((resolve, reject) => {
    const script = compiled("child.js")
    const args = [...(options.nodeFlags ?? []), script, JSON.stringify(job)]
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] })
    let output = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (text: string) => {
      output += text
    })
    child.on("error", reject)
    child.on("close", (code, signal) => {
      if (code !== 0) return reject(new Error(`A ${job.kind} run failed (${signal ?? code})`))
      const lines = output.trim().split("\n")
      resolve(JSON.parse(lines[lines.length - 1]!) as A)
    })
  })

/** What the simulator received, as `bench/support/simulatorProcess.ts` reports it. */
export interface SimulatorCounters {
  readonly total: number
  readonly watchlist: number
  /** Requests per catalog source id. */
  readonly catalog: Readonly<Record<string, number>>
  readonly statuses: Readonly<Record<string, number>>
}

export interface SimulatorProcess {
  readonly baseUrl: string
  readonly apiKey: string
  readonly counters: () => Promise<SimulatorCounters>
  readonly resetCounters: () => Promise<void>
  readonly stop: () => Promise<void>
}

export interface DatasetOptions {
  readonly records: number
  readonly seed: number
  readonly until: string
  readonly days: number
}

/** Starts the simulator in its own process and waits until it listens. */
export const startSimulator = async (dataset: DatasetOptions): Promise<SimulatorProcess> => {
  const child = spawn(
    process.execPath,
    [
      compiled("simulatorProcess.js"),
      String(dataset.records),
      String(dataset.seed),
      dataset.until,
      String(dataset.days)
    ],
    { stdio: ["pipe", "pipe", "inherit"] }
  )
  const replies = lineReader(child)
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const ask = async <A>(command: string): Promise<A> => {
    child.stdin.write(`${command}\n`)
    return JSON.parse(await replies()) as A
  }

  const { apiKey, baseUrl } = JSON.parse(await replies()) as {
    readonly baseUrl: string
    readonly apiKey: string
  }
  return {
    baseUrl,
    apiKey,
    counters: () => ask<SimulatorCounters>("counters"),
    resetCounters: () => ask<unknown>("reset").then(() => undefined),
    stop: () => {
      child.stdin.end()
      return exited
    }
  }
}

/** Each call resolves with the child's next line on stdout, in order. */
const lineReader = (child: ChildProcessByStdio<Writable, Readable, null>) => {
  const lines: Array<string> = []
  const waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = []
  createInterface({ input: child.stdout }).on("line", (line) => {
    const waiter = waiting.shift()
    if (waiter === undefined) lines.push(line)
    else waiter.resolve(line)
  })
  child.once("exit", (code, signal) => {
    for (const waiter of waiting.splice(0)) {
      waiter.reject(new Error(`The simulator process stopped (${signal ?? code})`))
    }
  })
  return (): Promise<string> => {
    const line = lines.shift()
    if (line !== undefined) return Promise.resolve(line)
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }))
  }
}
