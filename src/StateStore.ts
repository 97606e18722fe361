/**
 * Where the connector keeps how far the import has gone: inside the OpenCTI connector state, in a
 * JSON file, or in memory.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Either, Layer, Ref } from "effect"
import { mkdir, readFile, rename, writeFile } from "node:fs/promises"
import { dirname } from "node:path"
import { watchlistTypes } from "./BreachRecord.js"
import { isDay } from "./Window.js"

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

/**
 * Reads a stored state string. Accepts this connector's shape and the Python SpyCloud connector's
 * (`<type>_last_import_date`, `last_import_date`), read as the last completed day. No state, `""`,
 * `"null"` and `{}` mean nothing was imported yet.
 *
 * @since 0.1.0
 * @category codecs
 */
export const parseState = (raw: string | undefined): Either.Either<ConnectorState, StateError> => {
  if (raw === undefined || raw.trim() === "" || raw.trim() === "null") {
    return Either.right(emptyState)
  }
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    return Either.left(invalidState("it is not JSON"))
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Either.left(invalidState("it is not a JSON object"))
  }
  const record = json as Record<string, unknown>
  return "types" in record ? parseOwnState(record) : Either.right(parsePythonState(record))
}

/**
 * @since 0.1.0
 * @category codecs
 */
export const serializeState = (state: ConnectorState): string => JSON.stringify(state)

/**
 * The last completed day of a watchlist type (or `all`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const completedThrough = (state: ConnectorState, key: string): string | undefined =>
  state.types[key]?.completedThrough

/**
 * @since 0.1.0
 * @category combinators
 */
export const withCompletedThrough = (
  state: ConnectorState,
  key: string,
  day: string
): ConnectorState => ({ version: 1, types: { ...state.types, [key]: { completedThrough: day } } })

/**
 * Keeps the state in memory: for tests and for programs that keep it themselves.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (initial: ConnectorState = emptyState): Layer.Layer<StateStore> =>
  Layer.effect(
    StateStore,
    Effect.map(Ref.make(initial), (ref) => ({
      get: Ref.get(ref),
      set: (state) => Ref.set(ref, state),
      resets: Effect.succeed(0)
    }))
  )

/**
 * Keeps the state in a JSON file, replaced atomically on every save.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (path: string): Layer.Layer<StateStore> =>
  Layer.succeed(StateStore, {
    get: Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (error) => error
    }).pipe(
      Effect.catchIf(
        (error) => (error as NodeJS.ErrnoException).code === "ENOENT",
        () => Effect.succeed(undefined)
      ),
      Effect.mapError((error) =>
        new StateError({ message: `Cannot read the state file ${path}: ${String(error)}` })
      ),
      Effect.flatMap(parseState)
    ),
    set: (state) =>
      Effect.tryPromise({
        try: async () => {
          const temporary = `${path}.${process.pid}.tmp`
          await mkdir(dirname(path), { recursive: true })
          await writeFile(temporary, serializeState(state) + "\n", "utf8")
          await rename(temporary, path)
        },
        catch: (error) =>
          new StateError({ message: `Cannot write the state file ${path}: ${String(error)}` })
      }),
    resets: Effect.succeed(0)
  })

const invalidState = (problem: string) =>
  new StateError({
    message: `The stored connector state cannot be read: ${problem}. ` +
      "Reset the connector's state in OpenCTI (or delete the state file) to start over."
  })

const parseOwnState = (
  record: Record<string, unknown>
): Either.Either<ConnectorState, StateError> => {
  if (record.version !== 1) {
    return Either.left(invalidState(`version ${JSON.stringify(record.version)} is not 1`))
  }
  const types = record.types
  if (typeof types !== "object" || types === null || Array.isArray(types)) {
    return Either.left(invalidState("\"types\" is not an object"))
  }
  const parsed: Record<string, { completedThrough: string }> = {}
  for (const [key, entry] of Object.entries(types)) {
    const day = (entry as { completedThrough?: unknown } | null)?.completedThrough
    if (typeof day !== "string" || !isDay(day)) {
      return Either.left(invalidState(`"types.${key}.completedThrough" is not a YYYY-MM-DD day`))
    }
    parsed[key] = { completedThrough: day }
  }
  return Either.right({ version: 1, types: parsed })
}

const pythonSuffix = "_last_import_date"

const parsePythonState = (record: Record<string, unknown>): ConnectorState => {
  const types: Record<string, { completedThrough: string }> = {}
  const shared = pythonDay(record.last_import_date)
  if (shared !== undefined) {
    for (const key of ["all", ...watchlistTypes]) types[key] = { completedThrough: shared }
  }
  for (const [key, value] of Object.entries(record)) {
    const day = key.endsWith(pythonSuffix) ? pythonDay(value) : undefined
    if (day !== undefined) types[key.slice(0, -pythonSuffix.length)] = { completedThrough: day }
  }
  return { version: 1, types }
}

const pythonDay = (value: unknown): string | undefined => {
  if (typeof value !== "string") return undefined
  const day = value.slice(0, 10)
  return isDay(day) ? day : undefined
}
