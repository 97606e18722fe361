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
 * opts in: `password`, `password_plaintext`, `salt`, every `cc_*` field, and any field whose name
 * contains `password`, `secret`, `token`, `cookie`, `ssn`, `taxid`, `passport`, `license_number`,
 * `iban` or `bank_number`, except the `*_type` fields that only say what kind of secret it is
 * (`password_type`).
 *
 * @since 0.1.0
 * @category description
 */
export const isSecretField = (name: string): boolean => {
  const field = name.toLowerCase()
  if (field === "salt" || field.startsWith("cc_")) return true
  return !field.endsWith("_type") && secretNamePattern.test(field)
}

/**
 * A `| Field | Value |` table with one row per present field, in the record's order. Arrays are
 * joined with `, `, objects written as compact JSON; `\`, `|` and line breaks are escaped so that a
 * value stays in its cell. Absent values (see `isAbsent`) have no row.
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
    const text = cellText(fields[field])
    if (text === undefined) continue
    const value = !includeSecrets && isSecretField(field) ? withheld : escapeCell(text)
    rows.push("| " + escapeCell(field) + " | " + value + " |")
  }
  return rows.join("\n")
}

const secretNamePattern =
  /password|secret|token|cookie|ssn|taxid|passport|license_number|iban|bank_number/

const cellText = (value: unknown): string | undefined => {
  if (isAbsent(value)) return undefined
  switch (typeof value) {
    case "string":
      return value
    case "object": {
      if (!Array.isArray(value)) return compactJson(value)
      const items: Array<string> = []
      for (const item of value) {
        if (!isAbsent(item)) items.push(typeof item === "string" ? item : compactJson(item))
      }
      return items.length === 0 ? undefined : items.join(", ")
    }
    default:
      return String(value)
  }
}

/** JSON nested a few thousand levels deep exhausts `JSON.stringify`'s stack: name it instead. */
const compactJson = (value: unknown): string => {
  try {
    return JSON.stringify(value)
  } catch {
    return tooDeep
  }
}

const tooDeep = "(nested too deeply to show)"

const needsEscape = /[\\|\r\n]/

const escapeCell = (text: string): string =>
  needsEscape.test(text)
    ? text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r\n|\r|\n/g, "<br>")
    : text
