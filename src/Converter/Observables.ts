/**
 * The observables of one record, built from its fields.
 *
 * @since 0.1.0
 */
import { isAbsent } from "../BreachRecord.js"
import type { DroppedValue } from "../Converter.js"
import type { StixObject } from "../Stix.js"
import { scoId, valueScoId } from "../StixIds.js"
import * as Values from "./Values.js"

/**
 * What every observable refers to: its author and its markings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Attribution {
  readonly authorId: string
  readonly markingRefs: ReadonlyArray<string>
}

/**
 * The observables of one record, each once, in the order they were found. A value that is absent
 * adds nothing; a value that is present but invalid is recorded as dropped.
 *
 * @since 0.1.0
 * @category constructors
 */
export class Observables {
  readonly list: Array<StixObject> = []

  constructor(
    private readonly context: Attribution,
    private readonly dropped: Array<DroppedValue>
  ) {}

  /** The account's id, for the email's `belongs_to_ref`, and its login. */
  userAccount(
    field: string,
    raw: unknown
  ): { readonly id: string; readonly login: string } | undefined {
    const login = this.text(field, raw)
    if (login === undefined) return undefined
    const id = scoId("user-account", { account_login: login })
    if (this.has(id)) return { id, login }
    this.list.push({
      type: "user-account",
      spec_version: "2.1",
      id,
      account_login: login,
      x_opencti_created_by_ref: this.context.authorId,
      object_marking_refs: this.context.markingRefs
    })
    return { id, login }
  }

  /** The address, when it is valid. */
  emailAddress(raw: unknown, fullName: unknown, accountId: string | undefined): string | undefined {
    const text = this.text("email", raw)
    if (text === undefined) return undefined
    const value = Values.emailAddress(text)
    if (value === undefined) {
      this.drop("email", "not a valid email address")
      return undefined
    }
    const id = valueScoId("email-addr", value)
    if (this.has(id)) return value
    const displayName = typeof fullName === "string" && !isAbsent(fullName)
      ? fullName.trim()
      : undefined
    const email: Record<string, unknown> = { type: "email-addr", spec_version: "2.1", id, value }
    if (displayName !== undefined) email["display_name"] = displayName
    if (accountId !== undefined) email["belongs_to_ref"] = accountId
    this.list.push(this.attributed(email))
    return value
  }

  url(raw: unknown): void {
    const text = this.text("target_url", raw)
    if (text === undefined) return
    const value = Values.url(text)
    if (value === undefined) return this.drop("target_url", "not a well-formed URL")
    this.addValue("url", value)
  }

  domainName(field: string, raw: unknown): void {
    const text = this.text(field, raw)
    if (text === undefined) return
    const value = Values.domainName(text)
    if (value === undefined) return this.drop(field, "not a valid domain name")
    if (!this.hasDomainName(value)) this.addValue("domain-name", value)
  }

  /** The first valid address. */
  ipAddresses(raw: unknown): string | undefined {
    if (isAbsent(raw)) return undefined
    let first: string | undefined
    for (const entry of Values.ipAddressEntries(raw)) {
      const text = this.text("ip_addresses", entry)
      if (text === undefined) continue
      const address = Values.ipAddress(text)
      if (address === undefined) {
        this.drop("ip_addresses", "not a valid IP address")
      } else {
        first ??= address.value
        this.addValue(address.type, address.value)
      }
    }
    return first
  }

  macAddress(raw: unknown): void {
    const text = this.text("mac_address", raw)
    if (text === undefined) return
    const value = Values.macAddress(text)
    if (value === undefined) return this.drop("mac_address", "not a valid MAC address")
    this.addValue("mac-addr", value)
  }

  infectedPath(raw: unknown): void {
    const text = this.text("infected_path", raw)
    if (text === undefined) return
    const parts = Values.splitPath(text)
    if (parts === undefined) return
    const { authorId, markingRefs } = this.context

    let directoryId: string | undefined
    if (parts.directory !== undefined) {
      const path = parts.directory
      directoryId = scoId("directory", { path })
      if (!this.has(directoryId)) {
        this.list.push({
          type: "directory",
          spec_version: "2.1",
          id: directoryId,
          path,
          x_opencti_created_by_ref: authorId,
          object_marking_refs: markingRefs
        })
      }
    }
    if (parts.file === undefined) return
    const name = parts.file
    const id = directoryId === undefined
      ? scoId("file", { name })
      : scoId("file", { name, parent_directory_ref: directoryId })
    if (this.has(id)) return
    const file: Record<string, unknown> = { type: "file", spec_version: "2.1", id, name }
    if (directoryId !== undefined) file["parent_directory_ref"] = directoryId
    this.list.push(this.attributed(file))
  }

  userAgent(raw: unknown): void {
    const value = this.text("user_agent", raw)
    if (value !== undefined) this.addValue("user-agent", value)
  }

  /** A present string value, trimmed; anything else that is present is dropped. */
  private text(field: string, raw: unknown): string | undefined {
    if (isAbsent(raw)) return undefined
    if (typeof raw === "string") return raw.trim()
    this.drop(field, "not a text value")
    return undefined
  }

  private drop(field: string, reason: string): void {
    this.dropped.push({ field, reason })
  }

  /** A record has a dozen observables at most: a scan beats a Set. */
  private has(id: string): boolean {
    for (const observable of this.list) {
      if (observable.id === id) return true
    }
    return false
  }

  /**
   * Domain names do not differ by case: the first value stands for the others, as written (the
   * platform keeps values as they come).
   */
  private hasDomainName(value: string): boolean {
    const lowerCase = value.toLowerCase()
    for (const observable of this.list) {
      if (
        observable.type === "domain-name" &&
        (observable["value"] as string).toLowerCase() === lowerCase
      ) return true
    }
    return false
  }

  /** Adds the author and the marking, last, to an observable built with optional properties. */
  private attributed(observable: Record<string, unknown>): StixObject {
    observable["x_opencti_created_by_ref"] = this.context.authorId
    observable["object_marking_refs"] = this.context.markingRefs
    return observable as unknown as StixObject
  }

  private addValue(type: string, value: string): void {
    const id = valueScoId(type, value)
    if (this.has(id)) return
    this.list.push({
      type,
      spec_version: "2.1",
      id,
      value,
      x_opencti_created_by_ref: this.context.authorId,
      object_marking_refs: this.context.markingRefs
    })
  }
}
