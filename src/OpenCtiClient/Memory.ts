/**
 * A platform in memory, for tests and for programs that consume the bundles themselves: it keeps
 * every pushed bundle, the connector state as the platform would (a reset wins over the next
 * ping), the works and a queue size that can be set.
 *
 * @since 0.1.0
 */
import { Chunk, Context, Effect, Layer, Ref } from "effect"
import type { OpenCtiClientShape } from "../OpenCtiClient.js"
import { OpenCtiClient } from "../OpenCtiClient.js"
import type { Bundle } from "../Stix.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface MemoryWork {
  readonly id: string
  readonly name: string
  readonly status: "progress" | "complete" | "deleted"
  readonly message: string | undefined
  readonly inError: boolean
  /** Bundles pushed under this work. */
  readonly bundles: number
}

/**
 * What the in-memory platform holds, and the operator's "reset state" button.
 *
 * @since 0.1.0
 * @category models
 */
export interface InMemoryPlatform {
  /** Every pushed bundle, in push order. */
  readonly bundles: Effect.Effect<ReadonlyArray<Bundle>>
  readonly works: Effect.Effect<ReadonlyArray<MemoryWork>>
  /** The stored connector state; `undefined` when there is none. */
  readonly state: Effect.Effect<string | undefined>
  /** Empties the state; the next ping's state is ignored and the empty state returned. */
  readonly resetState: Effect.Effect<void>
  readonly setQueueMessagesSize: (bytes: number) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category services
 */
export class InMemorySink extends Context.Tag("spycloud/InMemorySink")<
  InMemorySink,
  InMemoryPlatform
>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  readonly connectorId?: string
  /** The state the platform holds before the connector registers. */
  readonly state?: string
}

/**
 * A client and its platform, sharing the same memory.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: MemoryOptions = {}
): Effect.Effect<{ readonly client: OpenCtiClientShape; readonly platform: InMemoryPlatform }> =>
  Effect.gen(function*() {
    const connectorId = options.connectorId ?? "memory"
    const bundles = yield* Ref.make(Chunk.empty<Bundle>())
    const works = yield* Ref.make<ReadonlyArray<MemoryWork>>([])
    const stored = yield* Ref.make({ state: options.state, resetPending: false })
    const queueBytes = yield* Ref.make(0)

    const editWork = (id: string, edit: (work: MemoryWork) => MemoryWork) =>
      Ref.update(works, (all) => all.map((work) => (work.id === id ? edit(work) : work)))

    const client: OpenCtiClientShape = {
      register: Effect.map(
        Ref.get(stored),
        ({ state }) => ({ connectorId, connectorState: state })
      ),
      ping: (state) =>
        Ref.modify(stored, ({ resetPending, state: current }) =>
          resetPending
            ? [current, { state: current, resetPending: false }]
            : [state, { state, resetPending: false }]),
      queueMessagesSize: Ref.get(queueBytes),
      startWork: (name) =>
        Ref.modify(works, (all) => {
          const id = `work_${connectorId}_${all.length + 1}`
          const work: MemoryWork = {
            id,
            name,
            status: "progress",
            message: undefined,
            inError: false,
            bundles: 0
          }
          return [id, [...all, work]]
        }),
      finishWork: (id, message, inError) =>
        editWork(id, (work) => ({ ...work, status: "complete", message, inError })),
      deleteWork: (id) => editWork(id, (work) => ({ ...work, status: "deleted" })),
      pushBundle: (bundle, workId) =>
        Ref.update(bundles, Chunk.append(bundle)).pipe(
          Effect.zipRight(editWork(workId, (work) => ({ ...work, bundles: work.bundles + 1 }))),
          Effect.as({ messages: 1 })
        )
    }

    const platform: InMemoryPlatform = {
      bundles: Effect.map(Ref.get(bundles), Chunk.toReadonlyArray),
      works: Ref.get(works),
      state: Effect.map(Ref.get(stored), ({ state }) => state),
      resetState: Ref.set(stored, { state: undefined, resetPending: true }),
      setQueueMessagesSize: (bytes) => Ref.set(queueBytes, bytes)
    }

    return { client, platform }
  })

/**
 * An `OpenCtiClient` and the `InMemorySink` that reads what it received.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: MemoryOptions): Layer.Layer<OpenCtiClient | InMemorySink> =>
  Layer.effectContext(
    Effect.map(
      make(options),
      ({ client, platform }) =>
        Context.make(OpenCtiClient, client).pipe(Context.add(InMemorySink, platform))
    )
  )

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<OpenCtiClient | InMemorySink> = layerWith({})
