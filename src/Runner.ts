/**
 * Runs of the connector: one import of every watchlist type under a work, and the schedule that
 * repeats it, with the platform's back-pressure rule.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Data, Duration, Effect, Exit, Option, Ref, Schedule } from "effect"
import { ConnectorConfig } from "./ConnectorConfig.js"
import type { ImportError, ImportSummary } from "./Ingestion.js"
import { emptySummary, importWatchlist, objectsOf } from "./Ingestion.js"
import type { ConnectorInfo } from "./OpenCtiClient.js"
import { OpenCtiClient, OpenCtiError } from "./OpenCtiClient.js"
import { PlatformStatus } from "./StateStore/Platform.js"

/**
 * A run failed; the failure has been logged and written into the run's work.
 *
 * @since 0.1.0
 * @category errors
 */
export class RunFailed extends Data.TaggedError("RunFailed")<{
  readonly message: string
}> {}

/**
 * One run: opens a work, imports every configured watchlist type (or the whole watchlist), and
 * closes the work with the counts, or in error with the reason. A run stopped by a state reset
 * is not an error.
 *
 * @since 0.1.0
 * @category runs
 */
export const runOnce = Effect.fn("Runner.runOnce")(function*() {
  const settings = yield* ConnectorConfig
  const client = yield* OpenCtiClient
  const startedAt = yield* Clock.currentTimeMillis
  const workId = yield* client.startWork(
    `${settings.connector.name} run @ ${new Date(startedAt).toISOString()}`
  )
  const summary = yield* Ref.make(emptySummary)
  const watchlists = settings.spycloud.watchlistTypes.length > 0
    ? settings.spycloud.watchlistTypes
    : [undefined]

  yield* Effect.logInfo("Run started").pipe(Effect.annotateLogs({ work_id: workId }))
  return yield* Effect.forEach(
    watchlists,
    (watchlistType) => importWatchlist({ watchlistType, workId, summary }),
    { discard: true }
  ).pipe(
    Effect.catchTag("StateReset", (reset) => Effect.logWarning(reset.message)),
    Effect.zipRight(Ref.get(summary)),
    Effect.onExit((exit) =>
      Effect.gen(function*() {
        const counts = yield* Ref.get(summary)
        const seconds = ((yield* Clock.currentTimeMillis) - startedAt) / 1000
        if (Exit.isSuccess(exit)) {
          yield* Effect.logInfo("Run finished").pipe(Effect.annotateLogs(countsOf(counts, seconds)))
        } else if (Exit.isInterrupted(exit)) {
          yield* Effect.logWarning("Run interrupted; completed windows are saved").pipe(
            Effect.annotateLogs(countsOf(counts, seconds))
          )
        } else {
          yield* Effect.logError(`Run failed: ${failureMessage(exit.cause)}`).pipe(
            Effect.annotateLogs(countsOf(counts, seconds))
          )
        }
        yield* closeWork(workId, counts, exit).pipe(
          Effect.catchAll((error) =>
            Effect.logWarning("The run's work could not be closed").pipe(
              Effect.annotateLogs({ reason: error.message })
            )
          )
        )
      })
    )
  )
})

/**
 * The connector: a first run at start, then one `CONNECTOR_DURATION_PERIOD` after each run
 * ends, skipping runs while the platform's queue is above `CONNECTOR_QUEUE_THRESHOLD`. With
 * `CONNECTOR_RUN_AND_TERMINATE` or a zero period it runs once and returns, failing when the run
 * failed.
 *
 * @since 0.1.0
 * @category runs
 */
export const runConnector = Effect.gen(function*() {
  const settings = yield* ConnectorConfig
  const period = settings.connector.durationPeriod
  const status = yield* Effect.serviceOption(PlatformStatus)
  const updateInfo = (update: InfoUpdate) =>
    Option.match(status, { onNone: () => Effect.void, onSome: (s) => s.updateInfo(update) })
  const ping = Option.match(status, { onNone: () => Effect.void, onSome: (s) => s.ping })

  const recordRun = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    yield* updateInfo((info) => ({
      ...info,
      lastRunAt: new Date(now),
      nextRunAt: info.runAndTerminate ? undefined : new Date(now + Duration.toMillis(period))
    }))
  })

  if (settings.connector.runAndTerminate || Duration.toMillis(period) === 0) {
    if (!(yield* queueIsFull(updateInfo))) {
      yield* runOnce().pipe(Effect.mapError((error) => new RunFailed({ message: error.message })))
    }
    yield* recordRun
    yield* ping
    return
  }

  // The first run checks the queue too (pycti does not): a connector restarting in a loop must
  // not keep filling a queue the platform cannot drain.
  const scheduledRun = Effect.gen(function*() {
    // A failed run has logged why and closed its work; the schedule goes on.
    if (!(yield* queueIsFull(updateInfo))) {
      yield* runOnce().pipe(Effect.ignore, Effect.catchAllDefect(() => Effect.void))
    }
    yield* recordRun
    yield* ping
    yield* Effect.logInfo("Schedule next run of connector").pipe(
      Effect.annotateLogs({ in: Duration.format(period) })
    )
  })

  yield* Effect.repeat(scheduledRun, Schedule.spaced(period))
})

type InfoUpdate = (info: ConnectorInfo) => ConnectorInfo

/**
 * Reads the size of the platform's queue for this connector and says whether a run must wait.
 *
 * @since 0.1.0
 * @category runs
 */
export const queueIsFull = (updateInfo: (update: InfoUpdate) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const settings = yield* ConnectorConfig
    const client = yield* OpenCtiClient
    const bytes = yield* client.queueMessagesSize.pipe(
      Effect.catchAll((error) =>
        Effect.logWarning("The size of the connector's queue is unknown; running anyway").pipe(
          Effect.annotateLogs({ reason: error.message }),
          Effect.as(0)
        )
      )
    )
    const megabytes = bytes / 1_000_000
    const buffering = megabytes >= settings.connector.queueThresholdMb
    yield* updateInfo((info) => ({ ...info, buffering, queueMessagesSizeMb: megabytes }))
    if (buffering) {
      yield* Effect.logInfo(
        "Connector will not run until the queue messages size is reduced under queue threshold"
      ).pipe(
        Effect.annotateLogs({
          queue_messages_size_mb: megabytes,
          queue_threshold_mb: settings.connector.queueThresholdMb
        })
      )
    }
    return buffering
  })

const closeWork = (workId: string, counts: ImportSummary, exit: Exit.Exit<unknown, ImportError>) =>
  Effect.gen(function*() {
    const client = yield* OpenCtiClient
    const settings = yield* ConnectorConfig
    if (Exit.isSuccess(exit)) {
      if (counts.bundles === 0) return yield* client.deleteWork(workId)
      return yield* client.finishWork(
        workId,
        `${settings.connector.name} connector successfully run: ${describe(counts)}`,
        false
      )
    }
    if (Exit.isInterrupted(exit)) {
      // A stopping connector does not wait long for a platform that does not answer.
      return yield* client.finishWork(
        workId,
        `Run interrupted by a shutdown after ${describe(counts)}; completed windows are saved`,
        false
      ).pipe(
        // Interruptible, or the timeout would wait for it: a finalizer runs uninterruptibly.
        Effect.interruptible,
        Effect.timeoutFail({
          duration: shutdownWait,
          onTimeout: () =>
            new OpenCtiError({
              operation: "workEdit",
              message: `The OpenCTI platform did not answer within ${
                Duration.format(shutdownWait)
              } while the connector was stopping.`
            })
        })
      )
    }
    yield* client.finishWork(workId, `Run failed: ${failureMessage(exit.cause)}`, true)
  })

const shutdownWait = Duration.seconds(3)

const describe = (counts: ImportSummary) =>
  `${counts.records} records, ${objectsOf(counts)} objects in ${counts.bundles} bundles, ` +
  `${counts.rejected} records skipped, ${counts.windows} windows`

const countsOf = (counts: ImportSummary, seconds: number) => ({
  records: counts.records,
  skipped_records: counts.rejected,
  dropped_values: counts.droppedValues,
  incidents: counts.incidents,
  observables: counts.observables,
  relationships: counts.relationships,
  bundles: counts.bundles,
  messages: counts.messages,
  windows: counts.windows,
  seconds
})

const failureMessage = (cause: Cause.Cause<ImportError>): string =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => Cause.pretty(cause),
    onSome: (error) => error.message
  })
