/**
 * The OpenCTI platform as the connector sees it: registration, pings, works, queue size and the
 * push of bundles. Adapters: GraphQL with AMQP or API push (`OpenCtiClient/Platform.ts`), a
 * directory of bundle files (`OpenCtiClient/Files.ts`) and memory (`OpenCtiClient/Memory.ts`).
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import { Context, Data } from "effect"
import type { Bundle } from "./Stix.js"

/**
 * A failed exchange with the platform or its broker. `code` is the platform's
 * `extensions.code` when it sent one (`AUTH_REQUIRED`, `FORBIDDEN_ACCESS`, ...). Never carries the
 * token or the broker password.
 *
 * @since 0.1.0
 * @category errors
 */
export class OpenCtiError extends Data.TaggedError("OpenCtiError")<{
  readonly operation: string
  readonly message: string
  readonly code?: string
}> {}

/**
 * What the platform answered at registration.
 *
 * @since 0.1.0
 * @category models
 */
export interface Registration {
  readonly connectorId: string
  /** The stored state string; `undefined` when the platform has none. */
  readonly connectorState: string | undefined
}

/**
 * What a ping tells the platform about the schedule and the queue.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectorInfo {
  readonly runAndTerminate: boolean
  readonly buffering: boolean
  readonly queueThresholdMb: number
  readonly queueMessagesSizeMb: number
  readonly nextRunAt: Date | undefined
  readonly lastRunAt: Date | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PushReceipt {
  /** Messages (or API calls) the broker or the platform acknowledged. */
  readonly messages: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface OpenCtiClientShape {
  readonly register: Effect.Effect<Registration, OpenCtiError>
  /** Sends the state (`undefined`: none) and returns the state the platform now stores. */
  readonly ping: (
    state: string | undefined,
    info: ConnectorInfo
  ) => Effect.Effect<string | undefined, OpenCtiError>
  /** Bytes waiting in the connector's push queue. */
  readonly queueMessagesSize: Effect.Effect<number, OpenCtiError>
  /** Opens a work for a run and returns its id. */
  readonly startWork: (friendlyName: string) => Effect.Effect<string, OpenCtiError>
  readonly finishWork: (
    workId: string,
    message: string,
    inError: boolean
  ) => Effect.Effect<void, OpenCtiError>
  readonly deleteWork: (workId: string) => Effect.Effect<void, OpenCtiError>
  /** Succeeds once the broker or the platform has acknowledged every part of the bundle. */
  readonly pushBundle: (bundle: Bundle, workId: string) => Effect.Effect<PushReceipt, OpenCtiError>
}

/**
 * @since 0.1.0
 * @category services
 */
export class OpenCtiClient extends Context.Tag("spycloud/OpenCtiClient")<
  OpenCtiClient,
  OpenCtiClientShape
>() {}
