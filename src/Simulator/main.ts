/**
 * Runs the SpyCloud simulator in its own process:
 *
 * ```
 * node dist/Simulator/main.js --records 100000 --seed 1 --until 2026-08-18 --days 30 --port 0
 * ```
 *
 * Once listening it prints one JSON line, `{"baseUrl":...,"apiKey":...}`, on stdout; it stops on
 * SIGTERM or SIGINT. Other flags: `--api-key`, `--page-size`, `--previous-day-rate`.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import { parseArgs } from "node:util"
import { formatDay, parseDay } from "./Dataset.js"
import type { SimulatorOptions } from "./Server.js"
import { start } from "./Server.js"

const usage = "Usage: main.js [--records N] [--seed S] [--until YYYY-MM-DD] [--days K] " +
  "[--port P] [--api-key KEY] [--page-size N] [--previous-day-rate R]"

const readOptions = (args: ReadonlyArray<string>): SimulatorOptions | string => {
  let values: Record<string, string | undefined>
  try {
    values = parseArgs({
      args: [...args],
      options: {
        records: { type: "string" },
        seed: { type: "string" },
        until: { type: "string" },
        days: { type: "string" },
        port: { type: "string" },
        "api-key": { type: "string" },
        "page-size": { type: "string" },
        "previous-day-rate": { type: "string" }
      }
    }).values
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }

  const problems: Array<string> = []
  const integer = (name: string, fallback: number, min: number): number => {
    const text = values[name]
    if (text === undefined) return fallback
    const value = Number(text)
    if (!Number.isSafeInteger(value) || value < min) {
      problems.push(`--${name} must be an integer of at least ${min}, not "${text}".`)
    }
    return value
  }
  const until = values.until ?? formatDay(Math.floor(Date.now() / 86_400_000))
  if (parseDay(until) === undefined) problems.push(`--until must be a YYYY-MM-DD date.`)
  const rateText = values["previous-day-rate"]
  const previousDayRate = rateText === undefined ? 0.02 : Number(rateText)
  if (!(previousDayRate >= 0 && previousDayRate <= 1)) {
    problems.push(`--previous-day-rate must be a number from 0 to 1, not "${rateText}".`)
  }

  const options: SimulatorOptions = {
    records: integer("records", 10_000, 0),
    seed: integer("seed", 1, 0),
    until,
    days: integer("days", 30, 1),
    port: integer("port", 0, 0),
    pageSize: integer("page-size", 1000, 1),
    previousDayRate,
    ...(values["api-key"] === undefined ? {} : { apiKey: values["api-key"] })
  }
  return problems.length === 0 ? options : problems.join("\n")
}

const program = Effect.gen(function*() {
  const options = readOptions(process.argv.slice(2))
  if (typeof options === "string") {
    yield* Console.error(`${options}\n${usage}`)
    return yield* Effect.sync(() => process.exit(2))
  }
  const simulator = yield* start(options)
  yield* Console.log(JSON.stringify({ baseUrl: simulator.baseUrl, apiKey: simulator.apiKey }))
  return yield* Effect.never
})

NodeRuntime.runMain(Effect.scoped(program))
