/**
 * Reading exported SpyCloud JSON for `convert`: a watchlist response (`{cursor, hits, results}`),
 * a JSON array of records, or NDJSON; and a catalog file mapping source id → catalog response.
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, Option } from "effect"
import { readFile } from "node:fs/promises"
import type { BreachRecord, RejectedRecord } from "./BreachRecord.js"
import { decodeBreachRecord } from "./BreachRecord.js"
import type { BreachPage } from "./SpyCloudApi.js"

/**
 * The input could not be read at all (missing file, not JSON, not records).
 *
 * @since 0.1.0
 * @category errors
 */
export class InputError extends Data.TaggedError("InputError")<{
  readonly message: string
}> {}

/**
 * Reads breach records from a file, or from stdin when no file is given. One broken record (or
 * NDJSON line) is rejected on its own; the rest are kept.
 *
 * @since 0.1.0
 * @category input
 */
export const readRecords = (path: Option.Option<string>): Effect.Effect<BreachPage, InputError> =>
  Effect.flatMap(readText(path, "the records"), (text) => parseRecords(text, describe(path)))

/**
 * Reads a catalog file: a JSON object mapping each source id to its `breach/catalog/{id}` response
 * (or directly to the catalog entry). No file: an empty catalog.
 *
 * @since 0.1.0
 * @category input
 */
export const readCatalog = (
  path: Option.Option<string>
): Effect.Effect<Readonly<Record<string, unknown>>, InputError> =>
  Option.match(path, {
    onNone: () => Effect.succeed({}),
    onSome: (file) =>
      Effect.flatMap(readText(path, "the catalog"), (text) => {
        const json = parseJson(text)
        if (Option.isNone(json) || !isObject(json.value)) {
          return Effect.fail(
            new InputError({
              message: `The catalog file ${file} is not a JSON object mapping source ids to ` +
                "catalog responses"
            })
          )
        }
        const entries: Record<string, unknown> = {}
        for (const [id, response] of Object.entries(json.value)) {
          entries[id] = isObject(response) && Array.isArray(response.results)
            ? response.results[0]
            : response
        }
        return Effect.succeed(entries)
      })
  })

/**
 * Parses the text of an export: a watchlist response, an array of records, or NDJSON.
 *
 * @since 0.1.0
 * @category input
 */
export const parseRecords = (
  text: string,
  source: string
): Effect.Effect<BreachPage, InputError> => {
  const json = parseJson(text)
  if (Option.isSome(json)) {
    const value = json.value
    if (Array.isArray(value)) return Effect.succeed(decodeAll(value))
    if (isObject(value) && Array.isArray(value.results)) {
      return Effect.succeed(decodeAll(value.results))
    }
    if (isObject(value)) return Effect.succeed(decodeAll([value]))
    return Effect.fail(notRecords(source))
  }
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "")
  if (lines.length === 0) return Effect.fail(notRecords(source))
  const values: Array<unknown> = []
  const rejected: Array<RejectedRecord> = []
  lines.forEach((line, index) => {
    const parsed = parseJson(line)
    if (Option.isSome(parsed)) values.push(parsed.value)
    else rejected.push({ documentId: undefined, reason: `line ${index + 1} is not JSON` })
  })
  if (values.length === 0) return Effect.fail(notRecords(source))
  const page = decodeAll(values)
  return Effect.succeed({ ...page, rejected: [...rejected, ...page.rejected] })
}

const decodeAll = (values: ReadonlyArray<unknown>): BreachPage => {
  const records: Array<BreachRecord> = []
  const rejected: Array<RejectedRecord> = []
  for (const value of values) {
    Either.match(decodeBreachRecord(value), {
      onLeft: (rejection) => rejected.push(rejection),
      onRight: (record) => records.push(record)
    })
  }
  return { hits: values.length, records, rejected }
}

const readText = (path: Option.Option<string>, what: string) =>
  Effect.tryPromise({
    try: () => Option.match(path, { onNone: readStdin, onSome: (file) => readFile(file, "utf8") }),
    catch: (error) =>
      new InputError({ message: `Cannot read ${what} from ${describe(path)}: ${String(error)}` })
  })

const readStdin = async (): Promise<string> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString("utf8")
}

const describe = (path: Option.Option<string>) =>
  Option.match(path, { onNone: () => "standard input", onSome: (file) => file })

const notRecords = (source: string) =>
  new InputError({
    message: `${source} holds no breach records: expected a watchlist response ` +
      "({cursor, hits, results}), a JSON array of records, or one record per line (NDJSON)"
  })

const parseJson = (text: string): Option.Option<unknown> => {
  try {
    return Option.some(JSON.parse(text))
  } catch {
    return Option.none()
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
