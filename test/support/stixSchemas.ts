/**
 * STIX 2.1 validation for tests, against the OASIS JSON schemas in `../shared/stix2-json-schemas`
 * (see its USAGE.md): each object by its type's schema, the bundle envelope by hand.
 *
 * Exemptions, both narrow: an `incident` may carry a top-level `severity` (OpenCTI reads it there)
 * when it is low, medium, high or critical; `user-agent`, OpenCTI's custom observable, has no
 * OASIS schema and is checked against the cyber-observable core plus its `value`.
 */
import type { ErrorObject, ValidateFunction } from "ajv"
import addFormatsModule from "ajv-formats"
import { Ajv2020 } from "ajv/dist/2020.js"
import { readdirSync, readFileSync } from "node:fs"

/**
 * The schema violations of one STIX object, one line each; empty when it is valid.
 */
export const validateStixObject = (object: unknown): ReadonlyArray<string> => {
  if (typeof object !== "object" || object === null || Array.isArray(object)) {
    return ["the object is not a JSON object"]
  }
  const candidate = object as Readonly<Record<string, unknown>>
  const type = candidate["type"]
  const label = `${String(type)} ${String(candidate["id"])}`
  // The schemas' `type` pattern backtracks badly on long invalid strings: check the list first.
  if (typeof type !== "string" || !knownTypes.has(type)) {
    return [`${label}: type is not a known STIX 2.1 type`]
  }

  const { coreValidator, validator } = compiled()
  if (type === "user-agent") {
    return [
      ...run(coreValidator, candidate, label),
      ...(candidate["spec_version"] === "2.1" ? [] : [`${label}: spec_version must be "2.1"`]),
      ...(candidate["id"] === undefined || String(candidate["id"]).startsWith("user-agent--")
        ? []
        : [`${label}: id must start with "user-agent--"`]),
      ...(typeof candidate["value"] === "string" && candidate["value"].length > 0
        ? []
        : [`${label}: value must be a non-empty string`])
    ]
  }

  if (type === "incident" && "severity" in candidate) {
    const { severity, ...withoutSeverity } = candidate
    return [
      ...run(validator(type), withoutSeverity, label),
      ...(typeof severity === "string" && incidentSeverities.has(severity)
        ? []
        : [`${label}: severity must be one of low, medium, high, critical`])
    ]
  }

  return run(validator(type), candidate, label)
}

/**
 * The envelope's problems, then every object's, each prefixed with its index.
 */
export const validateBundle = (bundle: unknown): ReadonlyArray<string> => {
  if (typeof bundle !== "object" || bundle === null || Array.isArray(bundle)) {
    return ["the bundle is not a JSON object"]
  }
  const { id, objects, type } = bundle as Readonly<Record<string, unknown>>
  const problems: Array<string> = []
  if (type !== "bundle") problems.push(`bundle: type must be "bundle"`)
  if (typeof id !== "string" || !bundleIdPattern.test(id)) {
    problems.push(`bundle: id must be "bundle--" followed by a UUID`)
  }
  if (!Array.isArray(objects) || objects.length === 0) {
    problems.push("bundle: objects must be a non-empty array")
    return problems
  }

  const seen = new Set<unknown>()
  objects.forEach((object: unknown, index) => {
    for (const problem of validateStixObject(object)) problems.push(`objects[${index}] ${problem}`)
    const objectId = (object as { readonly id?: unknown } | null)?.id
    if (seen.has(objectId)) problems.push(`objects[${index}]: id ${String(objectId)} appears twice`)
    seen.add(objectId)
  })
  return problems
}

const schemaRoot = new URL("../../../shared/stix2-json-schemas/schemas/", import.meta.url)

const objectFolders = ["sdos", "sros", "observables"]

const objectTypesInCommon = ["marking-definition", "language-content", "extension-definition"]

const knownTypes: ReadonlySet<string> = new Set([
  ...objectFolders.flatMap((folder) =>
    readdirSync(new URL(`${folder}/`, schemaRoot)).map((file) => file.replace(/\.json$/, ""))
  ),
  ...objectTypesInCommon,
  "user-agent"
])

const incidentSeverities: ReadonlySet<string> = new Set(["low", "medium", "high", "critical"])

const bundleIdPattern =
  /^bundle--[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

interface Compiled {
  readonly validator: (title: string) => ValidateFunction
  readonly coreValidator: ValidateFunction
}

let compiledSchemas: Compiled | undefined

/** Loads the schemas on first use; ajv compiles each one the first time it is asked for it. */
const compiled = (): Compiled => {
  if (compiledSchemas !== undefined) return compiledSchemas
  const ajv = new Ajv2020({ unicodeRegExp: false, strictTypes: false, allErrors: true })
  const addFormats = addFormatsModule as unknown as (instance: Ajv2020) => Ajv2020
  addFormats(ajv)
  ajv.addFormat("idn-hostname", true)

  const idsByTitle = new Map<string, string>()
  for (const folder of ["common", ...objectFolders]) {
    for (const file of readdirSync(new URL(`${folder}/`, schemaRoot))) {
      if (!file.endsWith(".json")) continue
      const schema = JSON.parse(readFileSync(new URL(`${folder}/${file}`, schemaRoot), "utf8")) as {
        readonly $id: string
        readonly title: string
      }
      ajv.addSchema(schema)
      idsByTitle.set(schema.title, schema.$id)
    }
  }

  const validator = (title: string): ValidateFunction => {
    const validate = ajv.getSchema(idsByTitle.get(title)!)
    if (validate === undefined) throw new Error(`The STIX schema "${title}" did not compile`)
    return validate
  }
  compiledSchemas = { validator, coreValidator: validator("cyber-observable-core") }
  return compiledSchemas
}

const run = (
  validate: ValidateFunction,
  object: Readonly<Record<string, unknown>>,
  label: string
): ReadonlyArray<string> =>
  validate(object) ? [] : (validate.errors ?? []).map((error) => describe(error, label))

const describe = (error: ErrorObject, label: string): string => {
  const detail = error.keyword === "enum" ? ` ${JSON.stringify(error.params)}` : ""
  return `${label}: ${error.instancePath || "/"} ${error.message ?? error.keyword}${detail}`
}
