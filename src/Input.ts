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
        const json = parseJson(text.startsWith(byteOrderMark) ? text.slice(1) : text)
        if (Either.isLeft(json) || !isObject(json.right)) {
          return Effect.fail(
            new InputError({
              message: `The catalog file ${file} is not a JSON object mapping source ids to ` +
                "catalog responses"
            })
          )
        }
        const entries: Record<string, unknown> = {}
        for (const [id, response] of Object.entries(json.right)) {
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
  const content = text.startsWith(byteOrderMark) ? text.slice(1) : text
  const json = parseJson(content)
  if (Either.isRight(json)) {
    const value = json.right
    if (Array.isArray(value)) return Effect.succeed(decodeAll(value))
    if (isObject(value) && Array.isArray(value.results)) {
      return Effect.succeed(decodeAll(value.results))
    }
    if (isObject(value)) return Effect.succeed(decodeAll([value]))
    return Effect.fail(notRecords(source))
  }

  const lines = content.split(/\r?\n/)
  const numbered = lines.map((line, index) => ({ line, number: index + 1 }))
    .filter(({ line }) => line.trim() !== "")
  if (numbered.length === 0) return Effect.fail(notRecords(source))
  if (Either.isLeft(parseJson(numbered[0]!.line))) {
    return Effect.fail(
      new InputError({
        message: `${source} is neither JSON (${json.left}) nor one JSON record per line`
      })
    )
  }
  const values: Array<unknown> = []
  const rejected: Array<RejectedRecord> = []
  for (const { line, number } of numbered) {
    const parsed = parseJson(line)
    if (Either.isRight(parsed)) values.push(parsed.right)
    else rejected.push({ documentId: undefined, reason: `line ${number} is not JSON` })
  }
  const page = decodeAll(values)
  return Effect.succeed({ ...page, rejected: [...rejected, ...page.rejected] })
}

const byteOrderMark = "\uFEFF"

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

const parseJson = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (error) {
    return Either.left(error instanceof Error ? error.message : String(error))
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
