/**
 * The incident description: a Markdown table of the record's fields.
 *
 * @since 0.1.0
 */
import { isAbsent } from "../BreachRecord.js"

/**
 * What a secret field shows instead of its value when secrets are not included: the analyst
 * still sees that the record held one.
 *
 * @since 0.1.0
 * @category description
 */
export const withheld = "(withheld)"

/**
 * Whether a field holds a secret whose value stays out of the description unless the operator
 * opts in: `password`, `password_plaintext`, `salt`, every `cc_*` field, any field whose name
 * contains `password`, `passwd`, `secret`, `token`, `cookie`, `ssn`, `taxid`, `passport`,
 * `license_number`, `iban` or `bank_number`, and any field whose name, read as words (split at
 * `_`, `-`, `.`, spaces and camelCase), has `pin`, `cvv`, `cvc`, an API or private key, a social
 * security, credit card, card, bank account or routing number, a security answer, backup or
 * recovery codes or a national id. The `*_type` fields that only say what kind of secret it is
 * (`password_type`) stay visible. The name is matched, never the value.
 *
 * @since 0.1.0
 * @category description
 */
export const isSecretField = (name: string): boolean => {
  let secret = secretFields.get(name)
  if (secret === undefined) {
    secret = isSecretName(name)
    if (secretFields.size < secretFieldsCached) secretFields.set(name, secret)
  }
  return secret
}

/**
 * A `| Field | Value |` table with one row per present field, in the record's order. Arrays are
 * joined with `, `, objects written as compact JSON; `\`, `|` and line breaks are escaped so that a
 * value stays in its cell. Absent values (see `isAbsent`) have no row. Unless secrets are
 * included, a secret field shows `(withheld)`, and so does every value nested at any depth in an
 * object or array under a key that names a secret (see `isSecretField`).
 *
 * @since 0.1.0
 * @category description
 */
export const describeRecord = (
  fields: Readonly<Record<string, unknown>>,
  includeSecrets: boolean
): string => {
  // Joined rather than concatenated: a concatenated string stays a tree of pieces until it is
  // serialised, which for a whole page of descriptions costs more than building them.
  const rows = ["| Field | Value |", "| --- | --- |"]
  for (const field in fields) {
    const text = cellText(fields[field], includeSecrets)
    if (text === undefined) continue
    const value = !includeSecrets && isSecretField(field) ? withheld : escapeCell(text)
    rows.push("| " + escapeCell(field) + " | " + value + " |")
  }
  return rows.join("\n")
}

/**
 * Wider than the substrings alone: those let card, bank and identity numbers and account recovery
 * answers through under their other names. Short or common words are matched as whole words of
 * the name, so that `pin` finds `account_pin` and `pinCode` but not `shipping` or `pinterest`.
 */
const isSecretName = (name: string): boolean => {
  const field = name.toLowerCase()
  if (field === "salt" || field.startsWith("cc_")) return true
  const words = nameWords(name)
  if (words.endsWith("_type")) return false
  return secretSubstrings.test(field) || secretWords.test(words)
}

const secretSubstrings =
  /password|passwd|secret|token|cookie|ssn|taxid|passport|license_number|iban|bank_number/

/** Tested on the words of a name, lower-case and joined with `_`. */
const secretWords = new RegExp(
  "(?:^|_)(?:" + [
    "pin",
    "cvv2?",
    "cvc2?",
    "api_?key",
    "private_?key",
    "social_?security",
    "credit_?card",
    "card_?number",
    "bank_?account",
    "routing_?number",
    "security_(?:[a-z0-9]+_)*answer",
    "securityanswer",
    "(?:backup|recovery)_?codes?",
    "national_?id"
  ].join("|") + ")(?:_|$)"
)

/** `accountPIN.v2` → `account_pin_v2`. */
const nameWords = (name: string): string =>
  name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toLowerCase()
    .split(/[\s_.-]+/)
    .filter((word) => word.length > 0)
    .join("_")

/** Field names repeat on every record: each is judged once. */
const secretFields = new Map<string, boolean>()

/** Enough for every field SpyCloud sends, and a bound for records with arbitrary names. */
const secretFieldsCached = 10_000

const cellText = (value: unknown, includeSecrets: boolean): string | undefined => {
  if (isAbsent(value)) return undefined
  switch (typeof value) {
    case "string":
      return value
    case "object": {
      if (!Array.isArray(value)) return compactJson(value, includeSecrets)
      const items: Array<string> = []
      for (const item of value) {
        if (!isAbsent(item)) {
          items.push(typeof item === "string" ? item : compactJson(item, includeSecrets))
        }
      }
      return items.length === 0 ? undefined : items.join(", ")
    }
    default:
      return String(value)
  }
}

/** JSON nested a few thousand levels deep exhausts `JSON.stringify`'s stack: name it instead. */
const compactJson = (value: unknown, includeSecrets: boolean): string => {
  try {
    return JSON.stringify(value, includeSecrets ? undefined : withholdNested)
  } catch {
    return tooDeep
  }
}

/** An array's items are keyed by their index: those keys are not names to judge (or cache). */
function withholdNested(this: unknown, key: string, value: unknown): unknown {
  return !Array.isArray(this) && isSecretField(key) ? withheld : value
}

const tooDeep = "(nested too deeply to show)"

const needsEscape = /[\\|\r\n]/

const escapeCell = (text: string): string =>
  needsEscape.test(text)
    ? text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r\n|\r|\n/g, "<br>")
    : text
