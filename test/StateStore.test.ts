import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { mkdtemp, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as StateStore from "../src/StateStore.js"

const parsed = (raw: string | undefined) => Either.getOrThrow(StateStore.parseState(raw))
const problem = (raw: string) =>
  Either.match(StateStore.parseState(raw), {
    onLeft: (error) => error.message,
    onRight: () => "parsed"
  })

describe("StateStore", () => {
  it("reads no state, an empty string, null and {} as nothing imported", () => {
    for (const raw of [undefined, "", "  ", "null", "{}"]) {
      assert.deepStrictEqual(parsed(raw), { version: 1, types: {} })
    }
  })

  it("reads its own shape", () => {
    assert.deepStrictEqual(
      parsed("{\"version\":1,\"types\":{\"email\":{\"completedThrough\":\"2026-08-17\"}}}"),
      { version: 1, types: { email: { completedThrough: "2026-08-17" } } }
    )
  })

  it("reads the Python connector's dates as the last completed day", () => {
    assert.deepStrictEqual(
      parsed(
        JSON.stringify({
          email_last_import_date: "2026-08-10T12:30:00Z",
          ip_last_import_date: "2026-07-01"
        })
      ),
      {
        version: 1,
        types: { email: { completedThrough: "2026-08-10" }, ip: { completedThrough: "2026-07-01" } }
      }
    )
    assert.deepStrictEqual(parsed(JSON.stringify({ last_import_date: "2026-05-05T00:00:00" })), {
      version: 1,
      types: {
        all: { completedThrough: "2026-05-05" },
        email: { completedThrough: "2026-05-05" },
        domain: { completedThrough: "2026-05-05" },
        subdomain: { completedThrough: "2026-05-05" },
        ip: { completedThrough: "2026-05-05" }
      }
    })
  })

  it("says what is wrong with a state it cannot read and how to start over", () => {
    const advice =
      "Reset the connector's state in OpenCTI (or delete the state file) to start over."
    assert.strictEqual(
      problem("not json"),
      `The stored connector state cannot be read: it is not JSON. ${advice}`
    )
    assert.strictEqual(
      problem("{\"version\":2,\"types\":{}}"),
      `The stored connector state cannot be read: version 2 is not 1. ${advice}`
    )
    assert.strictEqual(
      problem("{\"version\":1,\"types\":{\"ip\":{\"completedThrough\":\"2026-02-30\"}}}"),
      "The stored connector state cannot be read: \"types.ip.completedThrough\" is not a " +
        `YYYY-MM-DD day. ${advice}`
    )
  })

  it("moves one watchlist type forward and leaves the others", () => {
    const state = parsed("{\"version\":1,\"types\":{\"ip\":{\"completedThrough\":\"2026-01-01\"}}}")
    assert.deepStrictEqual(StateStore.withCompletedThrough(state, "email", "2026-02-02"), {
      version: 1,
      types: { ip: { completedThrough: "2026-01-01" }, email: { completedThrough: "2026-02-02" } }
    })
  })

  it.effect("keeps the state in a file, written whole", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "spycloud-state-")))
      const path = join(dir, "nested", "state.json")
      const layer = StateStore.layerFile(path)
      const store = yield* Effect.provide(StateStore.StateStore, layer)

      assert.deepStrictEqual(yield* store.get, StateStore.emptyState)
      yield* store.set({ version: 1, types: { all: { completedThrough: "2026-08-18" } } })
      assert.strictEqual(
        yield* Effect.promise(() => readFile(path, "utf8")),
        "{\"version\":1,\"types\":{\"all\":{\"completedThrough\":\"2026-08-18\"}}}\n"
      )
      assert.deepStrictEqual(yield* store.get, {
        version: 1,
        types: { all: { completedThrough: "2026-08-18" } }
      })

      yield* Effect.promise(() => writeFile(path, "{broken", "utf8"))
      const error = yield* Effect.flip(store.get)
      assert.strictEqual(error._tag, "StateError")
    }))
})
