/**
 * The state kept inside the OpenCTI connector, as the platform's own connectors keep it: seeded
 * at registration, sent with every ping (every 40 seconds and right after each save), and
 * replaced by the platform's copy when an operator resets it.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Ref, Schedule } from "effect"
import { ConnectorConfig } from "../ConnectorConfig.js"
import type { ConnectorInfo } from "../OpenCtiClient.js"
import { OpenCtiClient, OpenCtiError } from "../OpenCtiClient.js"
import type { ConnectorState } from "../StateStore.js"
import { emptyState, parseState, serializeState, StateError, StateStore } from "../StateStore.js"

/**
 * What the connector tells the platform besides its state: the schedule and the queue.
 *
 * @since 0.1.0
 * @category services
 */
export class PlatformStatus extends Context.Tag("spycloud/PlatformStatus")<PlatformStatus, {
  readonly updateInfo: (update: (info: ConnectorInfo) => ConnectorInfo) => Effect.Effect<void>
  /** Pings now; a failed ping is logged and left to the next one. */
  readonly ping: Effect.Effect<void>
}>() {}

/**
 * Registers the connector, seeds the state from the platform and keeps pinging until the scope
 * closes, with one last ping then.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = Layer.scopedContext(
  Effect.gen(function*() {
    const client = yield* OpenCtiClient
    const settings = yield* ConnectorConfig

    const registration = yield* client.register
    yield* Effect.logInfo("Connector registered with ID").pipe(
      Effect.annotateLogs({ id: registration.connectorId })
    )
    const state = yield* Ref.make(yield* parseState(registration.connectorState))
    const resets = yield* Ref.make(0)
    const runOnce = settings.connector.runAndTerminate ||
      Duration.toMillis(settings.connector.durationPeriod) === 0
    const info = yield* Ref.make<ConnectorInfo>({
      runAndTerminate: runOnce,
      buffering: false,
      queueThresholdMb: settings.connector.queueThresholdMb,
      queueMessagesSizeMb: 0,
      nextRunAt: undefined,
      lastRunAt: undefined
    })
    const serialised = yield* Effect.makeSemaphore(1)

    const pingOrFail = serialised.withPermits(1)(
      Effect.gen(function*() {
        const ours = yield* Ref.get(state)
        const stored = yield* client.ping(stateString(ours), yield* Ref.get(info))
        const theirs = yield* parseState(stored).pipe(
          Effect.catchAll((error) =>
            Effect.logWarning("The platform's connector state cannot be read; starting over").pipe(
              Effect.annotateLogs({ reason: error.message }),
              Effect.as(emptyState)
            )
          )
        )
        if (serializeState(theirs) !== serializeState(ours)) {
          yield* Ref.set(state, theirs)
          yield* Ref.update(resets, (count) => count + 1)
          yield* Effect.logWarning("Connector state has been remotely reset").pipe(
            Effect.annotateLogs({ state: stored ?? null })
          )
        }
      })
    )

    const logPingFailure = (error: OpenCtiError) =>
      Effect.logWarning("Error pinging the API").pipe(
        Effect.annotateLogs({ reason: error.message })
      )
    const ping = pingOrFail.pipe(Effect.catchAll(logPingFailure))

    // A first ping at once also clears a reset the platform still holds for this registration,
    // so that the first save of this run is not taken for another reset.
    yield* ping
    if (!runOnce) {
      yield* Effect.forkScoped(Effect.forever(Effect.delay(ping, pingInterval)))
      yield* Effect.logInfo("Pinging OpenCTI every 40 seconds")
    }
    // The last ping does not hold a stopping connector up when the platform does not answer.
    yield* Effect.addFinalizer(() =>
      pingOrFail.pipe(
        // Interruptible, or the timeout would wait for it: a finalizer runs uninterruptibly.
        Effect.interruptible,
        Effect.timeoutFail({
          duration: lastPingWait,
          onTimeout: () =>
            new OpenCtiError({
              operation: "PingConnector",
              message: `The OpenCTI platform did not answer the last ping within ${
                Duration.format(lastPingWait)
              }.`
            })
        }),
        Effect.catchAll(logPingFailure)
      )
    )

    const store = StateStore.of({
      get: Ref.get(state),
      set: (next) =>
        Ref.set(state, next).pipe(
          Effect.zipRight(pingOrFail.pipe(Effect.retry(saveRetry))),
          Effect.mapError((error) =>
            new StateError({
              message: `The state could not be saved in OpenCTI: ${error.message}. ` +
                "It is sent again with the next ping; the last window is imported again if not."
            })
          )
        ),
      resets: Ref.get(resets)
    })
    const status = PlatformStatus.of({
      updateInfo: (update) => Ref.update(info, update),
      ping
    })
    return Context.make(StateStore, store).pipe(Context.add(PlatformStatus, status))
  })
)

const pingInterval = Duration.seconds(40)

const lastPingWait = Duration.seconds(3)

const saveRetry = Schedule.exponential(Duration.millis(500)).pipe(
  Schedule.intersect(Schedule.recurs(3))
)

const stateString = (state: ConnectorState): string | undefined =>
  Object.keys(state.types).length === 0 ? undefined : serializeState(state)
