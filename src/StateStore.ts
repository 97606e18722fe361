/**
 * Where the connector keeps how far the import has gone: inside the OpenCTI connector state, in a
 * JSON file, or in memory.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import { Context, Data } from "effect"

/**
 * @since 0.1.0
 * @category errors
 */
export class StateError extends Data.TaggedError("StateError")<{
  readonly message: string
}> {}

/**
 * Per watchlist type (or `all`), the last day up to which every record has been pushed.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectorState {
  readonly version: 1
  readonly types: Readonly<Record<string, { readonly completedThrough: string }>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StateStoreShape {
  /** The current state; an empty state when nothing was imported or the state was reset. */
  readonly get: Effect.Effect<ConnectorState, StateError>
  /** Saves the state; succeeds once it is durable where the store keeps it. */
  readonly set: (state: ConnectorState) => Effect.Effect<void, StateError>
  /**
   * Counts the resets made from outside (the platform's "reset state"); a run compares it at each
   * window boundary and stops when it has changed.
   */
  readonly resets: Effect.Effect<number>
}

/**
 * @since 0.1.0
 * @category services
 */
export class StateStore extends Context.Tag("spycloud/StateStore")<StateStore, StateStoreShape>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const emptyState: ConnectorState = { version: 1, types: {} }
