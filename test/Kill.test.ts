import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { createServer, request as httpRequest } from "node:http"
import type { AddressInfo } from "node:net"
import { beforeAll } from "vitest"
import * as SimulatorServer from "../src/Simulator/Server.js"
import type { ConnectorProcess } from "./support/connectorProcess.js"
import { assertDistBuilt, startConnector } from "./support/connectorProcess.js"
import { fakeOpenCti, pushQueue } from "./support/FakeOpenCti.js"
import type { Delivery } from "./support/importHarness.js"
import {
  childScenario,
  deliveryOfMessages,
  differences,
  emptyDelivery,
  platformState,
  referenceImport,
  scenarioSettings,
  undeliveredThroughState
} from "./support/importHarness.js"
import { consumeAll, describeWithRabbit } from "./support/rabbit.js"

beforeAll(() => assertDistBuilt())

const { importStartDate, simulatorOptions, today } = childScenario(4)

describeWithRabbit("Kill", () => {
  it.scopedLive(
    "a connector killed at any point resumes on restart and loses nothing",
    () =>
      Effect.gen(function*() {
        const settings = yield* scenarioSettings({
          spycloud: { import_start_date: importStartDate, window_max_records: 300 }
        })
        const reference = yield* referenceImport({ simulator: simulatorOptions, settings, today })

        const fake = yield* fakeOpenCti()
        const platform = yield* holdingProxy(fake.url)
        const simulator = yield* SimulatorServer.start(simulatorOptions)
        const connectorId = randomUUID()
        const env = {
          OPENCTI_URL: platform.url,
          OPENCTI_TOKEN: fake.token,
          CONNECTOR_ID: connectorId,
          CONNECTOR_RUN_AND_TERMINATE: "true",
          SPYCLOUD_API_BASE_URL: simulator.baseUrl,
          SPYCLOUD_API_KEY: simulator.apiKey,
          SPYCLOUD_IMPORT_START_DATE: importStartDate,
          SPYCLOUD_WINDOW_MAX_RECORDS: "300"
        }

        let delivered: Delivery = emptyDelivery
        const stored = () => platformState(fake.connector(connectorId)?.state)
        const starts: Array<{ readonly since: unknown; readonly after: string | undefined }> = []

        /** Starts the connector, lets `stop` kill it, and checks what the kill left behind. */
        const attempt = (stop: (child: ConnectorProcess) => Promise<void>) =>
          Effect.promise(async () => {
            const before = stored().types["all"]?.completedThrough
            const child = startConnector(env)
            const started = await child.waitForMessage("Importing breach records")
            starts.push({ since: started.attributes?.["since"], after: before })
            await stop(child)
            const exit = await child.waitForExit(20_000)
            delivered = deliveryOfMessages(await consumeAll(pushQueue(connectorId)), delivered)
            expect(undeliveredThroughState(reference, stored(), delivered)).toEqual([])
            return { exit, child }
          })

        // During a page: the first window saved, the second page of the next one pushed and the
        // following pages being fetched.
        const duringPage = yield* attempt(async (child) => {
          await child.waitForMessage("Saved the connector state")
          const pages = child.lines().filter((line) =>
            line.message === "Imported a page of breach records"
          ).length
          await child.waitForMessage("Imported a page of breach records", pages + 2)
          child.kill("SIGKILL")
        })
        expect(duringPage.exit).toEqual({ code: null, signal: "SIGKILL" })

        // Between publish and checkpoint: every bundle of the window confirmed by the broker, the
        // ping that saves the window held back by the platform's proxy.
        const heldPing = platform.holdFirst((request) =>
          request.operationName === "PingConnector" &&
          request.variables["state"] !== (fake.connector(connectorId)?.state ?? "null")
        )
        const beforeCheckpoint = yield* attempt(async (child) => {
          await heldPing
          child.kill("SIGKILL")
        })
        expect(beforeCheckpoint.exit).toEqual({ code: null, signal: "SIGKILL" })
        const held = platformState((yield* Effect.promise(() => heldPing)).variables.state)
        const savedBefore = stored().types["all"]?.completedThrough
        expect(held.types["all"]?.completedThrough).not.toBe(savedBefore)
        expect(undeliveredThroughState(reference, held, delivered)).toEqual([])

        // Right after a checkpoint.
        const afterCheckpoint = yield* attempt(async (child) => {
          await child.waitForMessage("Saved the connector state", 1)
          child.kill("SIGKILL")
        })
        expect(afterCheckpoint.exit).toEqual({ code: null, signal: "SIGKILL" })

        const completed = yield* attempt(() => Promise.resolve())
        expect(completed.exit).toEqual({ code: 0, signal: null })

        // Each restart began at the last saved day (one day of overlap), never after it.
        expect(starts).toEqual(
          starts.map(({ after }) => ({ since: after ?? importStartDate, after }))
        )
        expect(starts.map(({ after }) => after !== undefined)).toEqual([false, true, true, true])
        // The held checkpoint moved nothing; the completed one did.
        expect(starts[2]!.since).toBe(starts[1]!.since)
        expect(String(starts[3]!.since) > String(starts[2]!.since)).toBe(true)
        expect(differences(reference.ids, delivered.ids)).toEqual({
          missing: [],
          unexpected: [],
          missingCount: 0,
          unexpectedCount: 0
        })
        expect(stored()).toEqual(reference.state)
      }),
    { timeout: 120_000 }
  )
})

/** A GraphQL request the proxy held back. */
interface HeldRequest {
  readonly operationName: string
  readonly variables: Readonly<Record<string, string>>
}

/**
 * An HTTP proxy in front of the fake platform that can hold back one GraphQL operation: the
 * request never reaches the platform, and the connector waits for an answer that never comes.
 */
const holdingProxy = (target: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const targetUrl = new URL(target)
      const held: Array<ServerResponse> = []
      let hold:
        | {
          readonly matches: (request: HeldRequest) => boolean
          readonly resolve: (request: HeldRequest) => void
        }
        | undefined

      const server = createServer((incoming: IncomingMessage, response: ServerResponse) => {
        const chunks: Array<Buffer> = []
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk))
        incoming.on("end", () => {
          const body = Buffer.concat(chunks)
          const parsed = JSON.parse(body.toString("utf8")) as HeldRequest
          if (hold?.matches(parsed)) {
            held.push(response)
            hold.resolve(parsed)
            hold = undefined
            return
          }
          const forwarded = httpRequest(
            {
              host: targetUrl.hostname,
              port: targetUrl.port,
              path: incoming.url,
              method: incoming.method,
              headers: incoming.headers
            },
            (answer) => {
              response.writeHead(answer.statusCode ?? 502, answer.headers)
              answer.pipe(response)
            }
          )
          forwarded.on("error", () => response.destroy())
          forwarded.end(body)
        })
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))

      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        /** Holds back the first request from now on that `matches`. */
        holdFirst: (matches: (request: HeldRequest) => boolean) =>
          new Promise<HeldRequest>((resolve) => {
            hold = { matches, resolve }
          }),
        close: () =>
          new Promise<void>((resolve) => {
            for (const response of held) response.destroy()
            server.closeAllConnections()
            server.close(() => resolve())
          })
      }
    }),
    (proxy) => Effect.promise(() => proxy.close())
  )
