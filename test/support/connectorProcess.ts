/**
 * The connector as an operator runs it: `node dist/main.js run` in a child process, configured by
 * environment variables only, its pycti JSON log lines read from stderr as they come.
 */
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { inject } from "vitest"

/** One log line of the connector. */
export interface LogLine {
  readonly timestamp: string
  readonly level: string
  readonly name: string
  readonly message: string
  readonly attributes?: Readonly<Record<string, unknown>>
  readonly exc_info?: string
}

export interface ProcessExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface ConnectorProcess {
  readonly pid: number
  /** Every JSON log line written so far, in order. */
  readonly lines: () => ReadonlyArray<LogLine>
  /** Everything written to stderr, JSON or not. */
  readonly stderr: () => string
  readonly stdout: () => string
  /**
   * Resolves with the first log line (from the start) for which `matches` holds, as soon as it is
   * written; rejects when the process exits first or after `timeoutMs`.
   */
  readonly waitForLine: (
    matches: (line: LogLine, index: number) => boolean,
    timeoutMs?: number
  ) => Promise<LogLine>
  /** The `count`-th line with this message (1 for the first). */
  readonly waitForMessage: (message: string, count?: number, timeoutMs?: number) => Promise<LogLine>
  readonly kill: (signal: NodeJS.Signals) => void
  readonly exited: Promise<ProcessExit>
  /** Resolves with the exit, or rejects after `timeoutMs` (the process is then killed). */
  readonly waitForExit: (timeoutMs: number) => Promise<ProcessExit>
}

export const distMain = fileURLToPath(new URL("../../dist/main.js", import.meta.url))

/** Fails the calling test with the build's output when `dist/` could not be built. */
export const assertDistBuilt = (): void => {
  const problem = inject("distBuildProblem")
  if (problem !== "") throw new Error(problem)
}

/**
 * Spawns `node dist/main.js <args>` (default `run`) with only `PATH`, `HOME` and `env` in its
 * environment, in an empty working directory so that no `config.yml` is read.
 */
export const startConnector = (
  env: Readonly<Record<string, string>>,
  args: ReadonlyArray<string> = ["run"]
): ConnectorProcess => {
  const child: ChildProcess = spawn(process.execPath, [distMain, ...args], {
    cwd: mkdtempSync(join(tmpdir(), "spycloud-connector-")),
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })

  const lines: Array<LogLine> = []
  const waiters = new Set<() => void>()
  let stderr = ""
  let stdout = ""
  let partial = ""
  let exit: ProcessExit | undefined

  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
    partial += chunk
    const complete = partial.split("\n")
    partial = complete.pop()!
    for (const text of complete) {
      const line = parseLine(text)
      if (line !== undefined) lines.push(line)
    }
    for (const wake of [...waiters]) wake()
  })

  const exited = new Promise<ProcessExit>((resolve) => {
    child.on("exit", (code, signal) => {
      exit = { code, signal }
      resolve(exit)
      for (const wake of [...waiters]) wake()
    })
  })

  const waitFor = (
    select: (lines: ReadonlyArray<LogLine>) => LogLine | undefined,
    timeoutMs = 30_000
  ): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = select(lines)
        if (found !== undefined) return done(() => resolve(found))
        if (exit !== undefined) {
          done(() =>
            reject(
              new Error(
                `The connector exited (${JSON.stringify(exit)}) before the awaited log line; ` +
                  `its stderr:\n${tail(stderr)}`
              )
            )
          )
        }
      }
      const timer = setTimeout(
        () =>
          done(() =>
            reject(
              new Error(`No awaited log line within ${timeoutMs} ms; stderr:\n${tail(stderr)}`)
            )
          ),
        timeoutMs
      )
      const done = (settle: () => void) => {
        clearTimeout(timer)
        waiters.delete(check)
        settle()
      }
      waiters.add(check)
      check()
    })

  return {
    pid: child.pid!,
    lines: () => [...lines],
    stderr: () => stderr,
    stdout: () => stdout,
    waitForLine: (matches, timeoutMs) => waitFor((all) => all.find(matches), timeoutMs),
    waitForMessage: (message, count = 1, timeoutMs) =>
      waitFor((all) => all.filter((line) => line.message === message)[count - 1], timeoutMs),
    kill: (signal) => {
      if (exit === undefined) child.kill(signal)
    },
    exited,
    waitForExit: (timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL")
          reject(new Error(`The connector did not exit within ${timeoutMs} ms`))
        }, timeoutMs)
        exited.then((value) => {
          clearTimeout(timer)
          resolve(value)
        })
      })
  }
}

const parseLine = (text: string): LogLine | undefined => {
  if (!text.startsWith("{")) return undefined
  try {
    const value = JSON.parse(text) as LogLine
    return typeof value.message === "string" ? value : undefined
  } catch {
    return undefined
  }
}

const tail = (text: string) => text.split("\n").slice(-30).join("\n")
