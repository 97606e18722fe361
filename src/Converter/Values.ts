/**
 * Checks and normalises SpyCloud values for the STIX property they become. Each function returns
 * the value to write, or `undefined` when the value cannot be written there: the converter drops
 * it. Every accepted value also passes the OASIS STIX 2.1 schema of its property.
 *
 * @since 0.1.0
 */
import { isIPv4, isIPv6 } from "node:net"

/**
 * An email address as the STIX `email-addr` schema accepts it (RFC 5322 `addr-spec`, ASCII, a
 * dotted domain), trimmed.
 *
 * @since 0.1.0
 * @category values
 */
export const emailAddress = (raw: string): string | undefined => {
  const value = raw.trim()
  return value.length <= 254 && emailPattern.test(value) ? value : undefined
}

/**
 * A URL with a scheme: `http://` is added to a value without one. Characters a URI cannot hold
 * (non-ASCII, `"<>^\`{|}`, and `[`, `]` or a second `#` after the host) are percent-encoded as
 * UTF-8, the usual mapping of an IRI to a URI. A value with white space, a backslash, a stray
 * `%`, no host or a non-numeric port is malformed.
 *
 * @since 0.1.0
 * @category values
 */
export const url = (raw: string): string | undefined => {
  const trimmed = raw.trim()
  const withScheme = schemePattern.test(trimmed)
    ? trimmed
    : (trimmed.startsWith("//") ? "http:" : "http://") + trimmed
  if (/[\s\\]/.test(withScheme) || badPercent.test(withScheme)) return undefined

  const encoded = percentEncode(withScheme, notInUri)
  const match = encoded === undefined ? null : authorityPattern.exec(encoded)
  if (match === null) return undefined
  const [authority, userinfo, host, port] = match
  if (userinfo !== undefined && !userinfoPattern.test(userinfo)) return undefined
  if (!hostPattern.test(host!) && !isIpLiteral(host!)) return undefined
  if (port !== undefined && !/^\d*$/.test(port)) return undefined

  const rest = encoded!.slice(authority.length)
  const fragmentStart = rest.indexOf("#")
  const beforeFragment = fragmentStart === -1 ? rest : rest.slice(0, fragmentStart)
  const fragment = fragmentStart === -1 ? "" : "#" + rest.slice(fragmentStart + 1)
    .replaceAll("#", "%23")
  return authority + beforeFragment.replace(brackets, encodeBracket) +
    fragment.replace(brackets, encodeBracket)
}

/**
 * A domain name: dot-separated labels of letters (any script), digits, `-` and `_`, each 1–63
 * characters, not starting or ending with `-`; at most 253 characters. An IP address is not a
 * domain name.
 *
 * @since 0.1.0
 * @category values
 */
export const domainName = (raw: string): string | undefined => {
  const value = raw.trim()
  if (value.length > 253 || !domainPattern.test(value)) return undefined
  return dottedNumbers.test(value) ? undefined : value
}

/**
 * An IPv4 or IPv6 address, without prefix or zone. An IPv6 address written with an embedded IPv4
 * part is refused: the OASIS `ipv6-addr` schema does not accept that notation.
 *
 * @since 0.1.0
 * @category values
 */
export const ipAddress = (
  raw: string
): { readonly type: "ipv4-addr" | "ipv6-addr"; readonly value: string } | undefined => {
  const value = raw.trim()
  if (isIPv4(value)) return { type: "ipv4-addr", value }
  if (isIPv6(value) && !value.includes(".") && !value.includes("%")) {
    return { type: "ipv6-addr", value }
  }
  return undefined
}

/**
 * The entries of `ip_addresses`, which SpyCloud sends as an array or as a comma-separated string.
 *
 * @since 0.1.0
 * @category values
 */
export const ipAddressEntries = (raw: unknown): ReadonlyArray<unknown> =>
  typeof raw === "string" ? raw.split(",") : Array.isArray(raw) ? raw : [raw]

/**
 * A MAC-48 address, lower-case and colon-separated. Accepts colons, hyphens or no separator
 * between bytes, and the dotted `xxxx.xxxx.xxxx` form.
 *
 * @since 0.1.0
 * @category values
 */
export const macAddress = (raw: string): string | undefined => {
  const value = raw.trim()
  if (!macPattern.test(value) && !ciscoMacPattern.test(value)) return undefined
  const hex = value.replace(/[:.-]/g, "").toLowerCase()
  return hex.slice(0, 2) + ":" + hex.slice(2, 4) + ":" + hex.slice(4, 6) + ":" +
    hex.slice(6, 8) + ":" + hex.slice(8, 10) + ":" + hex.slice(10, 12)
}

/**
 * A file path split at its last `\` or `/`: the directory is everything before it, separators
 * kept as written, the file name everything after it. A root keeps its separator (`/`, `C:\`), so
 * that `C:\x.exe` is in `C:\`, not in the drive-relative `C:`. A path that ends with a separator
 * has no file (`C:\` is only a directory); a bare name has no directory.
 *
 * @since 0.1.0
 * @category values
 */
export const splitPath = (
  raw: string
): { readonly directory: string | undefined; readonly file: string | undefined } | undefined => {
  const path = raw.trim()
  if (path.length === 0) return undefined
  const cut = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"))
  if (cut === -1) return { directory: undefined, file: path }
  const parent = path.slice(0, cut)
  const name = path.slice(cut + 1)
  return {
    directory: rootPattern.test(parent) ? path.slice(0, cut + 1) : parent,
    file: name.length === 0 ? undefined : name
  }
}

/** What is left of a root once its last separator is cut: nothing, a drive, or separators. */
const rootPattern = /^(?:[a-z]:)?[\\/]*$/i

const emailPattern =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i

const schemePattern = /^[a-z][a-z0-9+.-]*:\/\//i

/** Characters outside RFC 3986's set, which an IRI → URI mapping percent-encodes. */
const notInUri = /[^\x21-\x7e]|["<>^`{|}]/gu

/** scheme `://` [userinfo `@`] host [`:` port]; path, query and fragment follow. */
const authorityPattern =
  /^[a-z][a-z0-9+.-]*:\/\/(?:([^/?#@]*)@)?(\[[^\]/?#]*\]|[^/?#:]*)(?::([^/?#]*))?/i

const userinfoPattern = /^(?:[a-z0-9._~!$&'()*+,;=:-]|%[0-9a-f]{2})*$/i

const hostPattern = /^(?:[a-z0-9._~!$&'()*+,;=-]|%[0-9a-f]{2})+$/i

const isIpLiteral = (host: string): boolean =>
  host.startsWith("[") && isIPv6(host.slice(1, -1)) && !host.includes("%")

const brackets = /[[\]]/g

const encodeBracket = (bracket: string): string => bracket === "[" ? "%5B" : "%5D"

/** `undefined` when the text holds a lone surrogate, which has no UTF-8 encoding. */
const percentEncode = (text: string, characters: RegExp): string | undefined => {
  try {
    return text.replace(characters, encodeURIComponent)
  } catch {
    return undefined
  }
}

const badPercent = /%(?![0-9a-f]{2})/i

const domainPattern =
  /^(?:[\p{L}\p{N}\p{M}_](?:[\p{L}\p{N}\p{M}_-]{0,61}[\p{L}\p{N}\p{M}_])?\.)*[\p{L}\p{N}\p{M}_](?:[\p{L}\p{N}\p{M}_-]{0,61}[\p{L}\p{N}\p{M}_])?$/u

const dottedNumbers = /^[\d.]+$/

const macPattern = /^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}$/i

const ciscoMacPattern = /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i
