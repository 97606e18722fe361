import { assert, describe, it } from "@effect/vitest"
import * as amqp from "amqplib"
import { randomUUID } from "node:crypto"
import type { FakeOpenCti, FakeOpenCtiOptions } from "./support/FakeOpenCti.js"
import { pushQueue, pushRouting, startFakeOpenCti, workerExchange } from "./support/FakeOpenCti.js"
import { describeWithRabbit, queueLength, rabbitUrl } from "./support/rabbit.js"

const post = async (fake: FakeOpenCti, query: string, variables = {}, token = fake.token) => {
  const response = await fetch(`${fake.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables })
  })
  return { status: response.status, body: await response.json() as GraphqlAnswer }
}

interface GraphqlAnswer {
  readonly data?: unknown
  readonly errors?: ReadonlyArray<{ message: string; extensions: { code: string; data?: unknown } }>
}

const withFake = async (
  options: FakeOpenCtiOptions,
  test: (fake: FakeOpenCti) => Promise<void>
) => {
  const fake = await startFakeOpenCti(options)
  try {
    await test(fake)
  } finally {
    await fake.close()
  }
}

const workId = (answer: GraphqlAnswer) => (answer.data as { workAdd: { id: string } }).workAdd.id

const register = `mutation RegisterConnector($input: RegisterConnectorInput) {
  registerConnector(input: $input) {
    id connector_state connector_user_id
    config { connection { host vhost use_ssl port user pass } push push_routing push_exchange }
  }
}`
const ping = `mutation PingConnector($id: ID!, $state: String) {
  pingConnector(id: $id, state: $state) { connector_state }
}`
const registration = (id: string) => ({
  input: { id, name: "SpyCloud", type: "EXTERNAL_IMPORT", scope: ["spycloud"] }
})

describe("FakeOpenCti", () => {
  it("answers a wrong token as the platform does, with status 200 or 401", async () => {
    for (const status of [200, 401] as const) {
      await withFake({ authErrorStatus: status }, async (fake) => {
        assert.deepStrictEqual(await post(fake, "query { about { version } }", {}, "not-it"), {
          status,
          body: {
            errors: [{
              message: "You must be logged in to do this.",
              extensions: { code: "AUTH_REQUIRED", data: { http_status: 401, genre: "BUSINESS" } }
            }],
            data: null
          }
        })
      })
    }
  })

  it("validates every request against the platform schema before running it", async () => {
    await withFake({}, async (fake) => {
      const answer = await post(
        fake,
        "mutation { registerConnector(input: { id: \"x\" }) { no_such_field } }"
      )
      assert.strictEqual(answer.status, 400)
      assert.deepStrictEqual(
        answer.body.errors?.map((error) => [error.message, error.extensions.code]),
        [
          [
            "Field \"RegisterConnectorInput.name\" of required type \"String!\" was not provided.",
            "GRAPHQL_VALIDATION_FAILED"
          ],
          [
            "Field \"RegisterConnectorInput.type\" of required type \"ConnectorType!\" was not provided.",
            "GRAPHQL_VALIDATION_FAILED"
          ],
          [
            "Cannot query field \"no_such_field\" on type \"Connector\".",
            "GRAPHQL_VALIDATION_FAILED"
          ]
        ]
      )
      assert.deepStrictEqual(fake.operations().map((operation) => operation.outcome), ["rejected"])
    })
  })

  it("plays a 6.5 platform: no connector info, queue details or work id", async () => {
    await withFake({ olderPlatform: true }, async (fake) => {
      const answer = await post(
        fake,
        "mutation { stixBundlePush(connectorId: \"c\", bundle: \"{}\", work_id: \"w\") }"
      )
      assert.deepStrictEqual(
        answer.body.errors?.[0]?.message,
        "Unknown argument \"work_id\" on field \"Mutation.stixBundlePush\"."
      )
      assert.deepStrictEqual((await post(fake, "query { about { version } }")).body, {
        data: { about: { version: "6.5.0" } }
      })
    })
  })

  it("runs works: ids, expectations, processed with messages or errors, deletion", async () => {
    await withFake({}, async (fake) => {
      const added = await post(
        fake,
        "mutation W($c: String!, $n: String) { workAdd(connectorId: $c, friendlyName: $n) { id } }",
        { c: "conn-1", n: "SpyCloud run" }
      )
      const id = workId(added.body)
      assert.match(id, /^work_conn-1_\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      await post(fake, `mutation { workEdit(id: "${id}") { addExpectations(expectations: 3) } }`)
      await post(fake, `mutation { workEdit(id: "${id}") { addExpectations(expectations: 4) } }`)
      await post(
        fake,
        `mutation { workEdit(id: "${id}") { toProcessed(message: "done", inError: true) } }`
      )
      assert.deepStrictEqual(fake.works(), [{
        id,
        connectorId: "conn-1",
        name: "SpyCloud run",
        status: "progress",
        expectations: 7,
        processed: true,
        messages: [],
        errors: ["done"]
      }])

      const other = await post(fake, "mutation { workAdd(connectorId: \"conn-1\") { id } }")
      const otherId = workId(other.body)
      await post(fake, `mutation { workEdit(id: "${otherId}") { toProcessed(message: "ok") } }`)
      assert.deepStrictEqual(
        fake.works().map((work) => [work.status, work.messages]),
        [["progress", []], ["complete", ["ok"]]]
      )
      await post(fake, `mutation { workEdit(id: "${id}") { delete } }`)
      assert.deepStrictEqual(fake.works().map((work) => work.id), [otherId])
    })
  })
})

describeWithRabbit("FakeOpenCti with RabbitMQ", () => {
  it("registration declares the push queue, bound to the worker exchange", async () => {
    const id = randomUUID()
    await withFake({ brokerPort: 5999 }, async (fake) => {
      const answer = await post(fake, register, registration(id))
      assert.deepStrictEqual(answer.body, {
        data: {
          registerConnector: {
            id,
            connector_state: null,
            connector_user_id: fake.userId,
            config: {
              connection: {
                host: "127.0.0.1",
                vhost: "/",
                use_ssl: false,
                port: 5999,
                user: "guest",
                pass: "guest"
              },
              push: `push_${id}`,
              push_routing: `push_routing_${id}`,
              push_exchange: "amqp.worker.exchange"
            }
          }
        }
      })

      const model = await amqp.connect(rabbitUrl)
      const channel = await model.createConfirmChannel()
      channel.publish(workerExchange, pushRouting(id), Buffer.from("{}"))
      await channel.waitForConfirms()
      await model.close()
      assert.strictEqual(await queueLength(pushQueue(id)), 1)
    })
  })

  it("stores the pinged state unless a reset is pending, and a reset purges the queue", async () => {
    const id = randomUUID()
    await withFake({}, async (fake) => {
      await post(fake, register, registration(id))
      assert.deepStrictEqual((await post(fake, ping, { id, state: "{\"a\":1}" })).body, {
        data: { pingConnector: { connector_state: "{\"a\":1}" } }
      })

      const model = await amqp.connect(rabbitUrl)
      const channel = await model.createConfirmChannel()
      channel.publish(workerExchange, pushRouting(id), Buffer.from("waiting"))
      await channel.waitForConfirms()
      await model.close()
      assert.strictEqual(await queueLength(pushQueue(id)), 1)

      await fake.resetState(id)
      assert.strictEqual(await queueLength(pushQueue(id)), 0)
      assert.deepStrictEqual((await post(fake, ping, { id, state: "{\"a\":1}" })).body, {
        data: { pingConnector: { connector_state: "" } }
      })
      assert.deepStrictEqual((await post(fake, ping, { id, state: "{\"a\":2}" })).body, {
        data: { pingConnector: { connector_state: "{\"a\":2}" } }
      })
      assert.strictEqual(fake.connector(id)?.stateReset, false)
    })
  })

  it("deletes the queues it declared when it closes", async () => {
    const id = randomUUID()
    await withFake({}, async (fake) => {
      await post(fake, register, registration(id))
      assert.strictEqual(await queueLength(pushQueue(id)), 0)
    })
    const model = await amqp.connect(rabbitUrl)
    model.on("error", () => undefined)
    const channel = await model.createChannel()
    channel.on("error", () => undefined)
    const missing = await channel.checkQueue(pushQueue(id)).then(
      () => "exists",
      (error) => error.code
    )
    await model.close().catch(() => undefined)
    assert.strictEqual(missing, 404)
  })
})
