/**
 * Deterministic STIX ids: `<type>--<UUIDv5>` in the namespace OpenCTI and the stix2 library share,
 * over the RFC 8785 canonical JSON of the properties that identify the object. The same object
 * gets the same id on every run, on every machine, and in the platform itself.
 *
 * @since 0.1.0
 */
import { canonicalize } from "json-canonicalize"
import { hash } from "node:crypto"

/**
 * The UUIDv5 namespace of STIX 2.1 deterministic ids (pycti, stix2 and the platform).
 *
 * @since 0.1.0
 * @category constants
 */
export const idNamespace = "00abedb4-aa42-466c-9c01-fed23315a9b7"

/**
 * UUIDv5 of a text in {@link idNamespace}.
 *
 * @since 0.1.0
 * @category ids
 */
export const uuidV5 = (text: string): string => {
  const digest = sha1Hex(text)
  return digest.slice(0, 8) + "-" + digest.slice(8, 12) + "-5" + digest.slice(13, 16) + "-" +
    variantDigit[parseInt(digest[16]!, 16)] + digest.slice(17, 20) + "-" + digest.slice(20, 32)
}

/**
 * The id of a cyber-observable, from the properties the STIX 2.1 specification makes
 * id-contributing for its type (those present): `value` for most types; `account_type`, `user_id`
 * and `account_login` for `user-account`; `hashes` (one of them: MD5, else SHA-1, else SHA-256,
 * else SHA-512), `name`, `extensions` and `parent_directory_ref` for `file`; `path` for
 * `directory`. Ids of repeated values come from a bounded cache.
 *
 * Throws when none of the type's id properties is present: the caller built an invalid object.
 *
 * @since 0.1.0
 * @category ids
 */
export const scoId = (type: string, properties: Readonly<Record<string, unknown>>): string => {
  const contributing = idProperties[type] ?? valueOnly
  if (contributing === valueOnly) {
    const value = properties["value"]
    if (typeof value === "string") return valueScoId(type, value)
  }

  const identifying: Record<string, unknown> = {}
  let count = 0
  for (const property of contributing) {
    const value = properties[property]
    if (value === undefined || value === null) continue
    identifying[property] = property === "hashes" ? preferredHash(value) : value
    count++
  }
  if (count === 0) {
    throw new Error(`A ${type} needs one of ${contributing.join(", ")} to get a deterministic id`)
  }

  const text = canonicalText(identifying)
  const key = type + text
  const cached = scoIdCache.get(key)
  if (cached !== undefined) return cached
  const id = type + "--" + uuidV5(text)
  scoIdCache.set(key, id)
  return id
}

/**
 * The id of an observable whose only id property is `value` (email-addr, url, domain-name,
 * ipv4-addr, ipv6-addr, mac-addr, user-agent): the fast path of {@link scoId}.
 *
 * @since 0.1.0
 * @category ids
 */
export const valueScoId = (type: string, value: string): string => {
  const key = type + "\u0000" + value
  const cached = scoIdCache.get(key)
  if (cached !== undefined) return cached
  const id = type + "--" + uuidV5("{\"value\":" + JSON.stringify(value) + "}")
  scoIdCache.set(key, id)
  return id
}

/**
 * The id of an incident: `{ name: lower-cased and trimmed, created }`, `created` hashed exactly as
 * the incident carries it.
 *
 * @since 0.1.0
 * @category ids
 */
export const incidentId = (name: string, created: string): string =>
  "incident--" + uuidV5(canonicalText({ name: name.toLowerCase().trim(), created }))

/**
 * The id of an identity: `{ name: lower-cased and trimmed, identity_class: lower-cased }`.
 *
 * @since 0.1.0
 * @category ids
 */
export const identityId = (name: string, identityClass: string): string =>
  "identity--" +
  uuidV5(
    canonicalText({ name: name.toLowerCase().trim(), identity_class: identityClass.toLowerCase() })
  )

/**
 * The id of a relationship: `{ relationship_type, source_ref, target_ref }`, plus `start_time` when
 * given, plus `stop_time` only together with `start_time`.
 *
 * @since 0.1.0
 * @category ids
 */
export const relationshipId = (
  relationshipType: string,
  sourceRef: string,
  targetRef: string,
  startTime?: string,
  stopTime?: string
): string => {
  const identifying: Record<string, string> = {
    relationship_type: relationshipType,
    source_ref: sourceRef,
    target_ref: targetRef
  }
  if (startTime !== undefined) {
    identifying["start_time"] = startTime
    if (stopTime !== undefined) identifying["stop_time"] = stopTime
  }
  return "relationship--" + uuidV5(canonicalText(identifying))
}

/**
 * The id of a bundle: UUIDv5 over the canonical JSON of its objects' ids, sorted (UTF-16 code
 * unit order) and without duplicates, e.g. `["identity--…","incident--…"]`. The same objects give
 * the same id, whatever their order in the bundle.
 *
 * @since 0.1.0
 * @category ids
 */
export const bundleId = (objectIds: Iterable<string>): string =>
  "bundle--" + uuidV5(JSON.stringify(Array.from(new Set(objectIds)).sort()))

/**
 * RFC 8785 canonical JSON. Flat objects of strings, the shape of nearly every id, are written
 * directly; anything else goes through `json-canonicalize`.
 *
 * @since 0.1.0
 * @category ids
 */
export const canonicalText = (value: Readonly<Record<string, unknown>>): string => {
  const keys = Object.keys(value).sort()
  let text = "{"
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!
    const property = value[key]
    if (typeof property !== "string") return canonicalize(value)
    text += (index === 0 ? "" : ",") + JSON.stringify(key) + ":" + JSON.stringify(property)
  }
  return text + "}"
}

const valueOnly: ReadonlyArray<string> = ["value"]

const idProperties: Readonly<Record<string, ReadonlyArray<string>>> = {
  "user-account": ["account_type", "user_id", "account_login"],
  file: ["hashes", "name", "extensions", "parent_directory_ref"],
  directory: ["path"]
}

const hashPreference = ["MD5", "SHA-1", "SHA-256", "SHA-512"]

/** stix2 keeps one hash for the id: the first of its preference order, else the first given. */
const preferredHash = (hashes: unknown): unknown => {
  if (typeof hashes !== "object" || hashes === null) return hashes
  const record = hashes as Readonly<Record<string, unknown>>
  const algorithm = hashPreference.find((name) => record[name] !== undefined) ??
    Object.keys(record)[0]
  return algorithm === undefined ? record : { [algorithm]: record[algorithm] }
}

const variantDigit = "89ab89ab89ab89ab"

const namespaceBytes = Buffer.from(idNamespace.replaceAll("-", ""), "hex")

/**
 * One buffer holds the namespace followed by the text: `crypto.hash` over it is about twice as
 * fast as a `createHash` per id (or uuid's `v5`), and ids are most of the converter's work.
 */
const scratch = Buffer.alloc(64 * 1024)
namespaceBytes.copy(scratch, 0)

const sha1Hex = (text: string): string => {
  if (text.length * 3 > scratch.length - namespaceBytes.length) {
    return hash("sha1", Buffer.concat([namespaceBytes, Buffer.from(text, "utf8")]), "hex")
  }
  const length = scratch.write(text, namespaceBytes.length, "utf8")
  return hash("sha1", scratch.subarray(0, namespaceBytes.length + length), "hex")
}

/**
 * A map that forgets its oldest entry when full, so memory stays flat over millions of records
 * while the values that keep coming back (domains, hosts, user agents) stay cached.
 */
class BoundedCache {
  private readonly entries = new Map<string, string>()
  constructor(private readonly capacity: number) {}

  get(key: string): string | undefined {
    return this.entries.get(key)
  }

  set(key: string, value: string): void {
    if (this.entries.size >= this.capacity) {
      this.entries.delete(this.entries.keys().next().value!)
    }
    this.entries.set(key, value)
  }
}

const scoIdCache = new BoundedCache(50_000)
