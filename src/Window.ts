/**
 * Day windows: ranges of whole UTC days `[since, until]`, both inclusive, written `YYYY-MM-DD`.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface Window {
  readonly since: string
  readonly until: string
}

const dayMillis = 86_400_000

/**
 * The UTC day of an instant, `YYYY-MM-DD`.
 *
 * @since 0.1.0
 * @category days
 */
export const dayOf = (millis: number): string => new Date(millis).toISOString().slice(0, 10)

/**
 * @since 0.1.0
 * @category days
 */
export const addDays = (day: string, days: number): string =>
  dayOf(Date.parse(`${day}T00:00:00Z`) + days * dayMillis)

/**
 * Days from `from` to `to`: 0 when equal, negative when `to` is earlier.
 *
 * @since 0.1.0
 * @category days
 */
export const daysBetween = (from: string, to: string): number =>
  Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / dayMillis)

/**
 * How many days a window spans.
 *
 * @since 0.1.0
 * @category windows
 */
export const length = (window: Window): number => daysBetween(window.since, window.until) + 1

/**
 * Splits a window of two days or more into its older and its newer half.
 *
 * @since 0.1.0
 * @category windows
 */
export const halves = (window: Window): readonly [Window, Window] => {
  const olderDays = Math.ceil(length(window) / 2)
  const olderUntil = addDays(window.since, olderDays - 1)
  return [
    { since: window.since, until: olderUntil },
    { since: addDays(olderUntil, 1), until: window.until }
  ]
}

/**
 * The window still to import: from the last completed day (one day of overlap, as SpyCloud may
 * date a record a day before the `since` it was asked for) or the start date, through today.
 *
 * @since 0.1.0
 * @category windows
 */
export const pending = (options: {
  readonly completedThrough: string | undefined
  readonly importStartDate: string
  readonly today: string
}): Window => {
  const since = options.completedThrough === undefined
    ? options.importStartDate
    : maxDay(options.completedThrough, options.importStartDate)
  return { since: minDay(since, options.today), until: options.today }
}

/**
 * @since 0.1.0
 * @category days
 */
export const minDay = (a: string, b: string): string => (a <= b ? a : b)

/**
 * @since 0.1.0
 * @category days
 */
export const maxDay = (a: string, b: string): string => (a >= b ? a : b)

/**
 * @since 0.1.0
 * @category days
 */
export const isDay = (value: string): boolean => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false
  const millis = Date.parse(`${value}T00:00:00Z`)
  return !Number.isNaN(millis) && dayOf(millis) === value
}
