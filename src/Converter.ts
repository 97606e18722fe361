/**
 * Breach record → STIX 2.1 objects. Pure and deterministic: the same record and catalog entry
 * give byte-identical objects on every run and every machine.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { BreachRecord, CatalogEntry } from "./BreachRecord.js"
import { documentedSeverityCodes, isAbsent, toStixTimestamp } from "./BreachRecord.js"
import type { ConversionSettings } from "./ConnectorConfig.js"
import { ConnectorConfig, conversionSettings } from "./ConnectorConfig.js"
import { describeRecord } from "./Converter/Description.js"
import { authorIdentity, tlpMarking } from "./Converter/Markings.js"
import type { Attribution } from "./Converter/Observables.js"
import { Observables } from "./Converter/Observables.js"
import type { Bundle, StixObject } from "./Stix.js"
import { bundleId, incidentId, relationshipId } from "./StixIds.js"

/**
 * A value the converter left out because it was not valid for its STIX property. The value itself
 * is not kept: it may be a secret.
 *
 * @since 0.1.0
 * @category models
 */
export interface DroppedValue {
  readonly field: string
  readonly reason: string
}

/**
 * The objects of one record: its incident, its observables and their relationships. The author
 * and the marking are not repeated here; `bundle` adds them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Conversion {
  readonly objects: ReadonlyArray<StixObject>
  readonly dropped: ReadonlyArray<DroppedValue>
  readonly warnings: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ConverterShape {
  readonly author: StixObject
  readonly marking: StixObject
  readonly convert: (record: BreachRecord, catalog: CatalogEntry | undefined) => Conversion
  /**
   * A self-contained bundle: the author and the marking first, then the objects in the order
   * given, each id once; the bundle id is derived from the sorted object ids.
   */
  readonly bundle: (objects: Iterable<StixObject>) => Bundle
}

/**
 * @since 0.1.0
 * @category services
 */
export class Converter extends Context.Tag("spycloud/Converter")<Converter, ConverterShape>() {}

/**
 * The converter for one set of settings. The author and the marking are built once; `convert`
 * and `bundle` are pure.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (settings: ConversionSettings): ConverterShape => {
  const author = authorIdentity(settings.connectorName)
  const marking = tlpMarking(settings.tlpLevel)
  const context: ConversionContext = {
    authorId: author.id,
    markingRefs: Object.freeze([marking.id]),
    includeSecrets: settings.includeSecrets
  }

  const bundle = (objects: Iterable<StixObject>): Bundle => {
    const positions = new Map<string, number>([[author.id, 0], [marking.id, 1]])
    const unique: Array<StixObject> = [author, marking]
    for (const object of objects) {
      const position = positions.get(object.id)
      if (position === undefined) {
        positions.set(object.id, unique.length)
        unique.push(object)
      } else {
        unique[position] = withMissingProperties(unique[position]!, object)
      }
    }
    return { type: "bundle", id: bundleId(positions.keys()), objects: unique }
  }

  return {
    author,
    marking,
    convert: (record, catalog) => convertRecord(context, record, catalog),
    bundle
  }
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (settings: ConversionSettings): Layer.Layer<Converter> =>
  Layer.sync(Converter, () => make(settings))

/**
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<Converter, never, ConnectorConfig> = Layer.effect(
  Converter,
  Effect.map(ConnectorConfig, (settings) => make(conversionSettings(settings)))
)

/**
 * The STIX `incident` severity of a SpyCloud code. The documented codes are 2, 5, 20, 25, 26 and
 * 30; any other maps by threshold (below 5 low, below 20 medium, below 25 high, else critical).
 *
 * @since 0.1.0
 * @category severity
 */
export const severityLevel = (code: number): "low" | "medium" | "high" | "critical" =>
  code < 5 ? "low" : code < 20 ? "medium" : code < 25 ? "high" : "critical"

/**
 * `source_name` of the incident's external references: the record itself, and its breach catalog
 * entry's page on the SpyCloud portal.
 *
 * @since 0.1.0
 * @category constants
 */
export const externalSources = {
  record: "SpyCloud",
  catalog: "SpyCloud breach catalog"
} as const

interface ConversionContext extends Attribution {
  readonly includeSecrets: boolean
}

const convertRecord = (
  context: ConversionContext,
  record: BreachRecord,
  catalog: CatalogEntry | undefined
): Conversion => {
  const fields = record.fields
  const dropped: Array<DroppedValue> = []
  const warnings: Array<string> = []

  const modified = modifiedTime(fields["record_modification_date"], record.publishedAt, dropped)
  const observables = new Observables(context, dropped)

  const account = observables.userAccount("username", fields["username"])
  const email = observables.emailAddress(fields["email"], fields["full_name"], account?.id)
  observables.userAccount("user_hostname", fields["user_hostname"])
  observables.url(fields["target_url"])
  observables.domainName("target_domain", fields["target_domain"])
  observables.domainName("target_subdomain", fields["target_subdomain"])
  const address = observables.ipAddresses(fields["ip_addresses"])
  observables.macAddress(fields["mac_address"])
  observables.infectedPath(fields["infected_path"])
  observables.userAgent(fields["user_agent"])

  const identifier = incidentIdentifier([email, account?.login, address, record.documentId])
  const incident = buildIncident(context, record, catalog, identifier, modified, warnings)
  const objects: Array<StixObject> = [incident]
  const created = incident["created"]
  for (const observable of observables.list) objects.push(observable)
  for (const observable of observables.list) {
    objects.push({
      type: "relationship",
      spec_version: "2.1",
      id: relationshipId("related-to", observable.id, incident.id),
      created,
      modified: created,
      relationship_type: "related-to",
      source_ref: observable.id,
      target_ref: incident.id,
      created_by_ref: context.authorId,
      object_marking_refs: context.markingRefs
    })
  }
  return { objects, dropped, warnings }
}

const buildIncident = (
  context: ConversionContext,
  record: BreachRecord,
  catalog: CatalogEntry | undefined,
  identifier: string,
  modified: string,
  warnings: Array<string>
): StixObject => {
  const { documentId, fields, publishedAt, severity } = record

  const level = severity === undefined ? undefined : severityLevel(severity)
  if (severity === undefined) {
    warnings.push("A breach record has no usable severity code; its incident has no severity")
  } else if (!documentedSeverityCodes.includes(severity)) {
    warnings.push(
      `SpyCloud severity code ${severity} is not one of the documented codes ` +
        `(${documentedSeverityCodes.join(", ")}); its records are imported as ${level} incidents`
    )
  }

  const name = `SpyCloud ${level === undefined ? "" : level + " "}alert on ${identifier} [${
    nameText(documentId.slice(0, 8))
  }]`

  const references: Array<Readonly<Record<string, string>>> = [
    { source_name: externalSources.record, external_id: documentId }
  ]
  if (catalog?.uuid !== undefined) {
    references.push({
      source_name: externalSources.catalog,
      external_id: String(catalog.id),
      url: `https://portal.spycloud.com/breach/catalog/${encodeURIComponent(catalog.uuid)}`
    })
  }

  const source = catalog?.title ??
    (record.sourceId === undefined ? undefined : `SpyCloud source ${record.sourceId}`)

  // Optional properties are added in place: spreading them in costs more per record.
  const incident: Record<string, unknown> = {
    type: "incident",
    spec_version: "2.1",
    id: incidentId(name, publishedAt),
    created: publishedAt,
    modified,
    name,
    description: describeRecord(fields, context.includeSecrets),
    incident_type: "data-breach"
  }
  if (level !== undefined) incident["severity"] = level
  if (source !== undefined) incident["source"] = source
  incident["first_seen"] = publishedAt
  incident["created_by_ref"] = context.authorId
  incident["object_marking_refs"] = context.markingRefs
  incident["external_references"] = references
  return incident as StixObject
}

/**
 * What the incident is named after: the first candidate with something to show once control
 * characters are taken out and white space is collapsed, cut to `identifierLength` characters.
 * The candidates are the values the observables were made of (the valid email, the account's
 * login, the first valid IP address), then the document id.
 */
const incidentIdentifier = (candidates: ReadonlyArray<string | undefined>): string => {
  let text = ""
  for (const candidate of candidates) {
    if (candidate === undefined) continue
    text = nameText(candidate)
    if (text.length > 0) break
  }
  if (text.length <= identifierLength) return text
  let cut = identifierLength - 1
  const last = text.charCodeAt(cut - 1)
  if (last >= 0xd800 && last <= 0xdbff) cut--
  return text.slice(0, cut).trimEnd() + "…"
}

/** Long enough for any real email address or login; an incident name stays readable in a list. */
const identifierLength = 200

/** A value on one line: control characters taken out, white space runs made one space. */
const nameText = (value: string): string =>
  notPlainText.test(value)
    ? value.replace(controlCharacters, "").replace(/\s+/g, " ").trim()
    : value

const notPlainText = /[\p{Cc}\s]/u

/** Control characters other than the ones that are white space, which become a space instead. */
const controlCharacters = /(?![\t\n\v\f\r])\p{Cc}/gu

const modifiedTime = (raw: unknown, created: string, dropped: Array<DroppedValue>): string => {
  if (isAbsent(raw)) return created
  const modified = typeof raw === "string" ? toStixTimestamp(raw) : undefined
  if (modified === undefined) {
    dropped.push({ field: "record_modification_date", reason: "not a valid date" })
    return created
  }
  return modified > created ? modified : created
}

/**
 * Two records can describe one observable differently (an email address with a display name in
 * one record and without in another): the bundle keeps the first description and adds what only
 * the later one knows.
 */
const withMissingProperties = (kept: StixObject, later: StixObject): StixObject => {
  let merged: Record<string, unknown> | undefined
  for (const key in later) {
    if (!(key in kept)) {
      merged ??= { ...kept }
      merged[key] = later[key]
    }
  }
  return merged === undefined ? kept : (merged as StixObject)
}
