import { expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { randomUUID } from "node:crypto"
import { beforeAll } from "vitest"
import type { Faults } from "../src/Simulator/Server.js"
import * as SimulatorServer from "../src/Simulator/Server.js"
import * as Window from "../src/Window.js"
import { assertDistBuilt, startConnector } from "./support/connectorProcess.js"
import { fakeOpenCti, pushQueue } from "./support/FakeOpenCti.js"
import {
  captureLogs,
  failureOf,
  platformConnector,
  scenarioSettings,
  simulatorApi,
  simulatorOptions
} from "./support/importHarness.js"
import { consumeAll, describeWithRabbit } from "./support/rabbit.js"

beforeAll(() => assertDistBuilt())

// Distinctive values: any of them in a log line, an error or a bundle is a leak.
const apiKey = "sk-TEST-9f8e7d6c5b4a3210"
const wrongApiKey = "sk-TEST-WRONG-77aa66bb55cc"
const token = "octi-TEST-1a2b3c4d5e6f7081"
const wrongToken = "octi-TEST-WRONG-0c0c0c0c0c"
const brokerPass = "mq-TEST-0f1e2d3c4b5a6978"
const announcedBrokerPass = "mq-TEST-ANNOUNCED-5e5e5e5e"
const secrets = [apiKey, wrongApiKey, token, wrongToken, brokerPass, announcedBrokerPass]

/** The secrets found in `text`, in `secrets` order. */
const leaked = (text: string) => secrets.filter((secret) => text.includes(secret))

/** Every transient fault at once, and a 403 for the IP address for the first two requests. */
const everyFault: Partial<Faults> = {
  seed: 31,
  throttleRate: 0.05,
  retryAfterSeconds: 1,
  serverErrorRate: 0.05,
  gatewayTimeoutRate: 0.05,
  resetRate: 0.05,
  truncateRate: 0.05,
  delayRate: 0.03,
  delayMillis: 1_200,
  tooBroadAbove: 1_000,
  ipNotAllowed: { requests: 2 }
}

describeWithRabbit("Secrets", () => {
  it.scopedLive(
    "no log line at debug, error or pushed bundle carries a secret (in process)",
    () =>
      Effect.gen(function*() {
        const fake = yield* fakeOpenCti({ token, brokerPass: announcedBrokerPass })
        const simulator = yield* SimulatorServer.start({ ...simulatorOptions(everyFault), apiKey })
        // The lines as the connector writes them, before the logger's own masking.
        let saves = 0
        const logs = yield* captureLogs("debug", (line) => {
          if (line.message === "Saved the connector state" && ++saves === 2) {
            simulator.setFaults({ quotaExceeded: {} })
          }
        })
        const connectorId = randomUUID()
        const settingsWith = (options: {
          readonly token?: string
          readonly protocol: "api" | "amqp"
          readonly mqPass?: string
        }) =>
          scenarioSettings({
            opencti: { url: fake.url, token: options.token ?? token },
            connector: { id: connectorId, log_level: "debug", queue_protocol: options.protocol },
            spycloud: { api_key: apiKey },
            ...(options.mqPass === undefined ? {} : { mq: { pass: options.mqPass } })
          })
        const api = simulatorApi(simulator, { requestTimeout: "400 millis" })
        const errors: Array<string> = []

        // Over the API: the monthly quota stops the first run after its second window.
        const overApi = yield* platformConnector(yield* settingsWith({ protocol: "api" }), api)
        const first = yield* overApi.run
        errors.push(failureOf(first).message)
        simulator.setFaults({ quotaExceeded: undefined })
        let completed = false
        for (let run = 0; run < 5 && !completed; run++) {
          const exit = yield* overApi.run
          if (Exit.isSuccess(exit)) completed = true
          else errors.push(failureOf(exit).message)
        }
        expect(completed).toBe(true)

        // A wrong API key, a wrong token, and a broker password the broker refuses.
        const wrongKey = yield* platformConnector(
          yield* settingsWith({ protocol: "api" }),
          simulatorApi(
            { ...simulator, apiKey: wrongApiKey },
            { requestTimeout: "400 millis" }
          )
        )
        errors.push(failureOf(yield* wrongKey.run).message)
        const wrongTokenRun = yield* Effect.exit(
          Effect.scoped(
            Effect.flatMap(
              platformConnector(yield* settingsWith({ protocol: "api", token: wrongToken }), api),
              (connector) => connector.run
            )
          )
        )
        errors.push(String(wrongTokenRun))
        const refusedBroker = yield* platformConnector(
          yield* settingsWith({ protocol: "amqp", mqPass: brokerPass }),
          api
        )
        errors.push(failureOf(yield* refusedBroker.run).message)
        const announcedBroker = yield* platformConnector(
          yield* settingsWith({ protocol: "amqp" }),
          api
        )
        errors.push(failureOf(yield* announcedBroker.run).message)

        expect(errors.length).toBeGreaterThanOrEqual(5)
        expect(errors.map(leaked)).toEqual(errors.map(() => []))
        expect(logs.filter((line) => line.level === "DEBUG").length).toBeGreaterThan(0)
        expect(logs.filter((line) => leaked(JSON.stringify(line)).length > 0)).toEqual([])
        expect(leaked(JSON.stringify(fake.apiPushes()))).toEqual([])
        expect(fake.apiPushes().length).toBeGreaterThan(0)
        expect(leaked(JSON.stringify(fake.works()))).toEqual([])
        expect(leaked(JSON.stringify(fake.connector(connectorId)))).toEqual([])
      }),
    { timeout: 120_000 }
  )

  it.scopedLive(
    "no secret in what `run` writes, at debug, whatever fails (child process)",
    () =>
      Effect.gen(function*() {
        const today = Window.dayOf(Date.now())
        const fake = yield* fakeOpenCti({ token, brokerPass: announcedBrokerPass })
        const simulator = yield* SimulatorServer.start({
          seed: 5,
          records: 300,
          until: Window.addDays(today, -1),
          days: 2,
          pageSize: 100,
          apiKey,
          faults: {
            seed: 32,
            throttleRate: 0.02,
            retryAfterSeconds: 1,
            serverErrorRate: 0.05,
            gatewayTimeoutRate: 0.05,
            resetRate: 0.05,
            truncateRate: 0.05
          }
        })
        const connectorId = randomUUID()
        const env = {
          OPENCTI_URL: fake.url,
          OPENCTI_TOKEN: token,
          CONNECTOR_ID: connectorId,
          CONNECTOR_RUN_AND_TERMINATE: "true",
          CONNECTOR_LOG_LEVEL: "debug",
          CONNECTOR_QUEUE_PROTOCOL: "api",
          SPYCLOUD_API_BASE_URL: simulator.baseUrl,
          SPYCLOUD_API_KEY: apiKey,
          SPYCLOUD_IMPORT_START_DATE: Window.addDays(today, -2),
          MQ_PASS: brokerPass
        }
        const run = (overrides: Record<string, string>) =>
          Effect.promise(async () => {
            const child = startConnector({ ...env, ...overrides })
            const exit = await child.waitForExit(60_000)
            return { exit, output: child.stderr() + child.stdout(), lines: child.lines() }
          })

        const imported = yield* run({})
        simulator.setFaults({ quotaExceeded: {} })
        const quota = yield* run({})
        simulator.setFaults({ quotaExceeded: undefined })
        const refusedToken = yield* run({ OPENCTI_TOKEN: wrongToken })
        const refusedBroker = yield* run({ CONNECTOR_QUEUE_PROTOCOL: "amqp" })
        const announcedBroker = yield* run({ CONNECTOR_QUEUE_PROTOCOL: "amqp", MQ_PASS: "" })

        expect(imported.exit).toEqual({ code: 0, signal: null })
        expect(imported.lines.some((line) => line.level === "DEBUG")).toBe(true)
        for (const failed of [quota, refusedToken, refusedBroker, announcedBroker]) {
          expect(failed.exit).toEqual({ code: 1, signal: null })
        }
        for (const { output } of [imported, quota, refusedToken, refusedBroker, announcedBroker]) {
          expect(leaked(output)).toEqual([])
        }
        expect(leaked(JSON.stringify(fake.apiPushes()))).toEqual([])
        expect(leaked(JSON.stringify(fake.works()))).toEqual([])
        expect(yield* Effect.promise(() => consumeAll(pushQueue(connectorId)))).toEqual([])
      }),
    { timeout: 120_000 }
  )
})
