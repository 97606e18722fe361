/**
 * Small helpers the benchmarks share: medians, number formatting and the process's peak RSS.
 */

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** `12345.6` → `"12,346"`. */
export const count = (value: number): string => Math.round(value).toLocaleString("en-US")

/** Bytes in MiB, the unit every benchmark prints memory in. */
export const mebibytes = (bytes: number): number => bytes / 1_048_576

/** The highest resident set size this process has reached so far, in bytes. */
export const peakRss = (): number => process.resourceUsage().maxRSS * 1024

/** Seconds elapsed since `start`, a `process.hrtime.bigint()` reading. */
export const secondsSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9

/** The day before today (UTC), `YYYY-MM-DD`: the newest day a dataset may end on. */
export const yesterday = (): string => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)
