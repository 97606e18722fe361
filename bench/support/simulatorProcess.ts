/**
 * The SpyCloud simulator in a process of its own, as the benchmarks run it: the same server as
 * `src/Simulator/main.ts`, plus a line protocol on stdin so that the benchmark can read and reset
 * its request counters between runs.
 *
 *   stdout, once listening: {"baseUrl":...,"apiKey":...}
 *   stdin "counters"        → stdout: {"watchlist":...,"catalog":{...},"statuses":{...}}
 *   stdin "reset"           → the counters start again from zero; stdout: {}
 *
 * It stops when stdin closes (the benchmark ended or died) or on SIGTERM.
 *
 *   node node_modules/.cache/spycloud-bench/bench/support/simulatorProcess.js \
 *     <records> <seed> <until> <days>
 */
import { createInterface } from "node:readline"
import { listen } from "../../src/Simulator/Server.js"

const [records, seed, until, days] = process.argv.slice(2)

const { close, simulator } = await listen({
  records: Number(records),
  seed: Number(seed),
  until: until!,
  days: Number(days)
})
const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`)
reply({ baseUrl: simulator.baseUrl, apiKey: simulator.apiKey })

const stop = () => {
  close().then(() => process.exit(0), () => process.exit(1))
}
process.once("SIGTERM", stop)

const commands = createInterface({ input: process.stdin })
commands.on("close", stop)
commands.on("line", (command) => {
  if (command === "counters") {
    const { catalog, statuses, total, watchlist } = simulator.counters()
    reply({ total, watchlist, catalog, statuses })
  } else if (command === "reset") {
    simulator.resetCounters()
    reply({})
  }
})
