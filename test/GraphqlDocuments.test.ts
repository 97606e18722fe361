import { assert, describe, it } from "@effect/vitest"
import { parse, validate } from "graphql"
import { OpenCtiError } from "../src/OpenCtiClient.js"
import * as Graphql from "../src/OpenCtiClient/Graphql.js"
import { olderPlatformSchema, platformSchema, startFakeOpenCti } from "./support/FakeOpenCti.js"

const problems = (schema: ReturnType<typeof platformSchema>, document: Graphql.GraphqlDocument) =>
  validate(schema, parse(document.text)).map((error) => error.message)

describe("GraphQL documents", () => {
  it("lists every document the client sends, older-platform variants included", () => {
    assert.deepStrictEqual(
      Graphql.documents.map((document) => document.operationName),
      [
        "healthCheck",
        "RegisterConnector",
        "PingConnector",
        "PingConnector",
        "workAdd",
        "addExpectations",
        "workToProcessed",
        "ConnectorWorksMutation",
        "GetConnector",
        "StixBundlePush",
        "StixBundlePush"
      ]
    )
  })

  for (const document of Graphql.documents) {
    it(`${document.operationName} is valid against the platform schema`, () => {
      assert.deepStrictEqual(problems(platformSchema(), document), [])
      assert.strictEqual(parse(document.text).definitions.length, 1)
    })
  }

  it("the older-platform variants are valid against a 6.5 schema, the newer ones are not", () => {
    const older = olderPlatformSchema()
    assert.deepStrictEqual(problems(older, Graphql.pingConnectorWithoutInfo), [])
    assert.deepStrictEqual(problems(older, Graphql.stixBundlePushWithoutWork), [])
    assert.deepStrictEqual(problems(older, Graphql.pingConnector), [
      "Unknown argument \"connectorInfo\" on field \"Mutation.pingConnector\".",
      "Cannot query field \"connector_info\" on type \"Connector\". Did you mean " +
      "\"connector_type\", \"connector_user\", \"connector_scope\", \"connector_state\", or " +
      "\"connector_schema\"?"
    ])
    assert.deepStrictEqual(problems(older, Graphql.connectorQueueDetails), [
      "Cannot query field \"connector_queue_details\" on type \"Connector\". Did you mean " +
      "\"connector_state_reset\" or \"connector_user_id\"?"
    ])
    assert.deepStrictEqual(problems(older, Graphql.stixBundlePush), [
      "Unknown argument \"work_id\" on field \"Mutation.stixBundlePush\"."
    ])
  })

  it("registration asks for the push queue and broker, not for the s3 settings newer platforms add", () => {
    assert.include(
      Graphql.registerConnector.text,
      "connection { host vhost use_ssl port user pass }"
    )
    assert.notInclude(Graphql.registerConnector.text, "s3")
  })

  it("recognises an older platform only by what its schema says it lacks", () => {
    const rejected = (message: string) =>
      new OpenCtiError({
        operation: "PingConnector",
        message: `The OpenCTI platform rejected PingConnector: ${message}`,
        code: "GRAPHQL_VALIDATION_FAILED"
      })
    const lacks = (message: string, name: string) =>
      Graphql.rejectsAsUnknown(rejected(message), [name])

    assert.isTrue(lacks(
      "Unknown argument \"connectorInfo\" on field \"Mutation.pingConnector\".",
      "connectorInfo"
    ))
    assert.isTrue(lacks("Unknown type \"ConnectorInfoInput\".", "ConnectorInfoInput"))
    assert.isFalse(lacks(
      "Cannot query field \"nope\" on type \"Connector\". Did you mean \"connector_info\"?",
      "connector_info"
    ))
    assert.isFalse(lacks(
      "Variable \"$connectorInfo\" got invalid value {}; Field \"buffering\" was not provided.",
      "connectorInfo"
    ))
  })

  it("the fake platform rejects an unknown field as the platform does", async () => {
    const fake = await startFakeOpenCti()
    try {
      const response = await fetch(`${fake.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${fake.token}` },
        body: JSON.stringify({ query: "query { about { version no_such_field } }" })
      })
      assert.strictEqual(response.status, 400)
      assert.deepStrictEqual(await response.json(), {
        errors: [{
          message: "Cannot query field \"no_such_field\" on type \"AppInfo\".",
          locations: [{ line: 1, column: 25 }],
          extensions: { code: "GRAPHQL_VALIDATION_FAILED" }
        }]
      })
    } finally {
      await fake.close()
    }
  })
})
