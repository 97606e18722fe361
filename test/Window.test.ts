import { describe, expect, it } from "vitest"
import * as Window from "../src/Window.js"

describe("Window", () => {
  it("adds days across months, years and leap days", () => {
    expect(Window.addDays("2026-08-31", 1)).toBe("2026-09-01")
    expect(Window.addDays("2024-02-28", 1)).toBe("2024-02-29")
    expect(Window.addDays("2026-01-01", -1)).toBe("2025-12-31")
  })

  it("counts the days of a window, both ends included", () => {
    expect(Window.length({ since: "2026-08-18", until: "2026-08-18" })).toBe(1)
    expect(Window.length({ since: "1970-01-01", until: "2026-12-04" })).toBe(20_792)
  })

  it("splits a window into an older half that takes the odd day and a newer half", () => {
    expect(Window.halves({ since: "2026-08-01", until: "2026-08-05" })).toEqual([
      { since: "2026-08-01", until: "2026-08-03" },
      { since: "2026-08-04", until: "2026-08-05" }
    ])
    expect(Window.halves({ since: "2026-08-01", until: "2026-08-02" })).toEqual([
      { since: "2026-08-01", until: "2026-08-01" },
      { since: "2026-08-02", until: "2026-08-02" }
    ])
  })

  it("starts from the import start date when nothing was completed", () => {
    expect(
      Window.pending({
        completedThrough: undefined,
        importStartDate: "1970-01-01",
        today: "2026-12-04"
      })
    ).toEqual({ since: "1970-01-01", until: "2026-12-04" })
  })

  it("re-reads the last completed day, for records SpyCloud dates a day early", () => {
    expect(
      Window.pending({
        completedThrough: "2026-12-02",
        importStartDate: "1970-01-01",
        today: "2026-12-04"
      })
    ).toEqual({ since: "2026-12-02", until: "2026-12-04" })
  })

  it("never starts before a later import start date, nor after today", () => {
    expect(
      Window.pending({
        completedThrough: "2026-01-01",
        importStartDate: "2026-06-01",
        today: "2026-12-04"
      })
    ).toEqual({ since: "2026-06-01", until: "2026-12-04" })
    expect(
      Window.pending({
        completedThrough: undefined,
        importStartDate: "2027-01-01",
        today: "2026-12-04"
      })
    ).toEqual({ since: "2026-12-04", until: "2026-12-04" })
  })

  it("recognises real calendar days only", () => {
    expect(Window.isDay("2026-02-28")).toBe(true)
    expect(Window.isDay("2026-02-29")).toBe(false)
    expect(Window.isDay("2026-13-01")).toBe(false)
    expect(Window.isDay("2026-1-01")).toBe(false)
    expect(Window.isDay("yesterday")).toBe(false)
  })
})
