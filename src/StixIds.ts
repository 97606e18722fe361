/**
 * Deterministic STIX ids: `<type>--<UUIDv5>` in the namespace OpenCTI and the stix2 library share,
 * over the RFC 8785 canonical JSON of the properties that identify the object. The same object
 * gets the same id on every run, on every machine, and in the platform itself.
 *
 * @since 0.1.0
 */
import { canonicalize } from "json-canonicalize"
import { createHash, hash } from "node:crypto"

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
export const uuidV5 = (text: string): string => prefixedUuid("", text)

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
  const cache = cacheOf(type)
  const cached = cache.get(text)
  if (cached !== undefined) return cached
  const id = prefixedUuid(type + "--", text)
  cache.set(text, id)
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
  const cache = valueCacheOf(type)
  const cached = cache.get(value)
  if (cached !== undefined) return cached
  const id = prefixedUuid(type + "--", "{\"value\":" + jsonString(value) + "}")
  cache.set(value, id)
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
  prefixedUuid(
    "incident--",
    "{\"created\":" + jsonString(created) + ",\"name\":" +
      jsonString(name.toLowerCase().trim()) + "}"
  )

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
  // The keys in canonical (sorted) order: relationship_type, source_ref, start_time, stop_time,
  // target_ref.
  let text = "{\"relationship_type\":" + jsonString(relationshipType) + ",\"source_ref\":" +
    jsonString(sourceRef)
  if (startTime !== undefined) {
    text += ",\"start_time\":" + jsonString(startTime)
    if (stopTime !== undefined) text += ",\"stop_time\":" + jsonString(stopTime)
  }
  return prefixedUuid("relationship--", text + ",\"target_ref\":" + jsonString(targetRef) + "}")
}

/**
 * The id of a bundle: UUIDv5 over the canonical JSON of its objects' ids, sorted (UTF-16 code
 * unit order) and without duplicates, e.g. `["identity--…","incident--…"]`. The same objects give
 * the same id, whatever their order in the bundle.
 *
 * @since 0.1.0
 * @category ids
 */
export const bundleId = (objectIds: Iterable<string>): string => {
  const sorted = Array.from(objectIds).sort()
  const distinct = sorted.filter((id, index) => index === 0 || id !== sorted[index - 1])
  return prefixedUuid("bundle--", JSON.stringify(distinct))
}

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
    text += (index === 0 ? "" : ",") + jsonString(key) + ":" + jsonString(property)
  }
  return text + "}"
}

/** Characters JSON.stringify escapes in a string: quote, backslash, controls, lone surrogates. */
const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/

/**
 * A string as JSON, which RFC 8785 writes exactly as `JSON.stringify` does. Ids, timestamps and
 * most values need no escaping, and quoting them directly is several times faster.
 */
const jsonString = (value: string): string =>
  needsEscape.test(value) ? JSON.stringify(value) : "\"" + value + "\""

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

const namespaceBytes = Buffer.from(idNamespace.replaceAll("-", ""), "hex")

/**
 * One buffer holds the namespace followed by the text, and `crypto.hash` runs over it: about
 * twice as fast as a `createHash` per id, or uuid's `v5`, and a digest returned as a binary
 * (latin1) string costs half what a Buffer does. The id is then written as one flat string,
 * which is much cheaper to hash in a Set, sort and serialise than a string built from pieces.
 * Ids are most of the converter's work.
 */
const input = Buffer.alloc(64 * 1024)
namespaceBytes.copy(input, 0)

const output = Buffer.alloc(512)

const hexDigits = Buffer.from("0123456789abcdef", "latin1")

/** Where each byte of the UUID goes in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
const hexOffsets = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]

const dash = 0x2d

const prefixedUuid = (prefix: string, text: string): string => {
  if (prefix.length > output.length - 36) return prefix + prefixedUuid("", text)
  const start = output.write(prefix, 0, "latin1")
  const digest = sha1(text)

  for (let index = 0; index < 16; index++) {
    let byte = digest.charCodeAt(index)
    if (index === 6) byte = (byte & 0x0f) | 0x50
    else if (index === 8) byte = (byte & 0x3f) | 0x80
    const offset = start + hexOffsets[index]!
    output[offset] = hexDigits[byte >> 4]!
    output[offset + 1] = hexDigits[byte & 0x0f]!
  }
  output[start + 8] = dash
  output[start + 13] = dash
  output[start + 18] = dash
  output[start + 23] = dash
  return output.toString("latin1", 0, start + 36)
}

/** The SHA-1 digest of the namespace and the text, as a string of 20 one-byte characters. */
const sha1 = (text: string): string => {
  if (text.length * 3 > input.length - namespaceBytes.length) {
    return createHash("sha1").update(namespaceBytes).update(text, "utf8").digest("binary")
  }
  const length = input.write(text, namespaceBytes.length, "utf8")
  return hash("sha1", input.subarray(0, namespaceBytes.length + length), "binary")
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

/** Entries per observable type; a few megabytes at most for the handful of types in use. */
const cacheCapacity = 10_000

/** Ids of value observables by type, keyed by the value itself, which needs no copying. */
const valueCaches = new Map<string, BoundedCache>()

/** Ids of the other observables by type, keyed by their canonical text. */
const canonicalCaches = new Map<string, BoundedCache>()

const cacheIn = (caches: Map<string, BoundedCache>, type: string): BoundedCache => {
  let cache = caches.get(type)
  if (cache === undefined) {
    cache = new BoundedCache(cacheCapacity)
    caches.set(type, cache)
  }
  return cache
}

const valueCacheOf = (type: string): BoundedCache => cacheIn(valueCaches, type)

const cacheOf = (type: string): BoundedCache => cacheIn(canonicalCaches, type)
