import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as Redaction from "../src/Redaction.js"

describe("Redaction", () => {
  it("masks every secret as written and as escaped in JSON", () => {
    const apiKey = "key\"with\\quote-Vb4Nw8"
    const text = `X-API-Key: ${apiKey} {"apiKey":${JSON.stringify(apiKey)}} token-7Qx9Zr2Lp`
    assert.strictEqual(
      Redaction.scrubSecrets(text, [Redacted.make(apiKey), "token-7Qx9Zr2Lp"]),
      "X-API-Key: ******** {\"apiKey\":\"********\"} ********"
    )
  })

  it("masks a secret that contains another one whole", () => {
    assert.strictEqual(
      Redaction.scrubSecrets("pass=broker-pass-Hy6Dm3Sg5", [
        "broker-pass",
        "broker-pass-Hy6Dm3Sg5"
      ]),
      "pass=********"
    )
  })

  it("leaves secrets shorter than the minimum in place", () => {
    assert.strictEqual(Redaction.minimumSecretLength, 8)
    assert.strictEqual(
      Redaction.scrubSecrets("kept keys: 1234567 and 12345678", ["k", "1234567", "12345678", ""]),
      "kept keys: 1234567 and ********"
    )
  })

  it("returns the text unchanged without secrets", () => {
    const scrub = Redaction.scrubber([])
    assert.strictEqual(
      scrub("Window 2026-08-01..2026-08-18 imported"),
      "Window 2026-08-01..2026-08-18 imported"
    )
  })
})
