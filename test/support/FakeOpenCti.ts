/**
 * A fake OpenCTI platform for tests: the connector's GraphQL operations over HTTP on 127.0.0.1,
 * each request parsed and validated against the platform's schema
 * (`../shared/reference/opencti.graphql`) before it runs, with the platform's semantics for
 * registration (push queue declared on the real RabbitMQ), pings and state resets, works, the API
 * push and the queue size. It can play a 6.5 platform, whose schema lacks the connector info, the
 * queue details and the work id of the API push.
 */
import type { Channel, ChannelModel } from "amqplib"
import * as amqp from "amqplib"
import { Effect } from "effect"
import type { Scope } from "effect"
import type { DocumentNode, GraphQLSchema } from "graphql"
import { buildSchema, execute, GraphQLError, parse, validate } from "graphql"
import { readFileSync } from "node:fs"
import type { IncomingMessage, ServerResponse } from "node:http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

export interface FakeOpenCtiOptions {
  /** The token requests must carry as `Authorization: Bearer <token>`. */
  readonly token?: string
  /** Play a 6.5 platform. */
  readonly olderPlatform?: boolean
  /** The HTTP status of the "not logged in" answer; the platform has used both. */
  readonly authErrorStatus?: 200 | 401
  /** The broker address registration announces (tests put proxies or closed ports here). */
  readonly brokerHost?: string
  readonly brokerPort?: number
  readonly brokerUser?: string
  readonly brokerPass?: string
  /** The platform user the token belongs to, announced as `connector_user_id`. */
  readonly userId?: string
}

export interface FakeConnectorInfo {
  readonly run_and_terminate: boolean
  readonly buffering: boolean
  readonly queue_threshold: number
  readonly queue_messages_size: number
  readonly next_run_datetime: string | null
  readonly last_run_datetime: string | null
}

export interface FakeConnector {
  readonly id: string
  readonly name: string
  readonly type: string
  readonly scope: ReadonlyArray<string>
  readonly auto: boolean | null
  readonly onlyContextual: boolean | null
  readonly playbookCompatible: boolean | null
  readonly state: string | null
  readonly stateReset: boolean
  readonly info: FakeConnectorInfo | undefined
  readonly queueMessagesSize: number
  readonly registrations: number
}

export interface FakeWork {
  readonly id: string
  readonly connectorId: string
  readonly name: string | null
  readonly status: "progress" | "complete"
  readonly expectations: number
  readonly processed: boolean
  readonly messages: ReadonlyArray<string>
  readonly errors: ReadonlyArray<string>
}

export interface FakeApiPush {
  readonly connectorId: string
  readonly workId: string | null
  readonly bundle: {
    readonly type: "bundle"
    readonly id: string
    readonly objects: ReadonlyArray<{ readonly type: string; readonly id: string }>
  }
}

export interface ReceivedOperation {
  readonly operationName: string | null
  readonly variables: Readonly<Record<string, unknown>>
  /** `rejected` covers invalid documents and missing or wrong tokens. */
  readonly outcome: "executed" | "rejected"
}

export interface FakeOpenCti {
  readonly url: string
  readonly token: string
  readonly userId: string
  readonly connector: (id: string) => FakeConnector | undefined
  readonly works: () => ReadonlyArray<FakeWork>
  readonly apiPushes: () => ReadonlyArray<FakeApiPush>
  readonly operations: () => ReadonlyArray<ReceivedOperation>
  /** Bytes the platform reports waiting in the connector's push queue. */
  readonly setQueueMessagesSize: (connectorId: string, bytes: number) => void
  /** The UI's "reset state": state "", the reset flag, and the push queue purged. */
  readonly resetState: (connectorId: string) => Promise<void>
  /** Stops the server and deletes the push queues it declared. */
  readonly close: () => Promise<void>
}

export const workerExchange = "amqp.worker.exchange"
export const pushQueue = (connectorId: string) => `push_${connectorId}`
export const pushRouting = (connectorId: string) => `push_routing_${connectorId}`

/**
 * The fake as a scoped resource: started on acquisition, closed (queues deleted) on release.
 */
export const fakeOpenCti = (
  options: FakeOpenCtiOptions = {}
): Effect.Effect<FakeOpenCti, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeOpenCti(options)),
    (fake) => Effect.promise(() => fake.close())
  )

export const startFakeOpenCti = async (options: FakeOpenCtiOptions = {}): Promise<FakeOpenCti> => {
  const token = options.token ?? "fake-opencti-token-5d41402abc4b2a76"
  const userId = options.userId ?? "88ec0c6a-13ce-5e39-b486-354fe4a7084f"
  const schema = options.olderPlatform ? olderPlatformSchema() : platformSchema()
  const connectors = new Map<string, Mutable<FakeConnector>>()
  const works = new Map<string, Mutable<FakeWork>>()
  const apiPushes: Array<FakeApiPush> = []
  const operations: Array<ReceivedOperation> = []
  const declaredQueues = new Set<string>()
  let broker: Promise<{ model: ChannelModel; channel: Channel }> | undefined

  const brokerChannel = () => {
    broker ??= amqp.connect("amqp://guest:guest@127.0.0.1:5672").then(async (model) => {
      model.on("error", () => undefined)
      return { model, channel: await model.createChannel() }
    })
    return broker.then(({ channel }) => channel)
  }

  const declarePushQueue = async (connectorId: string) => {
    const channel = await brokerChannel()
    await channel.assertExchange(workerExchange, "direct", { durable: true })
    await channel.assertQueue(pushQueue(connectorId), { durable: true })
    await channel.bindQueue(pushQueue(connectorId), workerExchange, pushRouting(connectorId))
    declaredQueues.add(pushQueue(connectorId))
  }

  const view = (connector: FakeConnector) => ({
    id: connector.id,
    standard_id: `connector--${connector.id}`,
    entity_type: "Connector",
    parent_types: ["Basic-Object", "Internal-Object"],
    name: connector.name,
    title: connector.name,
    active: true,
    auto: connector.auto,
    only_contextual: connector.onlyContextual,
    playbook_compatible: connector.playbookCompatible,
    connector_type: connector.type,
    connector_scope: connector.scope,
    connector_state: connector.state,
    connector_state_reset: connector.stateReset,
    connector_user_id: userId,
    connector_info: connector.info ?? null,
    connector_queue_details: { messages_number: 0, messages_size: connector.queueMessagesSize },
    connector_priority_group: "DEFAULT",
    built_in: false,
    config: {
      connection: {
        host: options.brokerHost ?? "127.0.0.1",
        vhost: "/",
        use_ssl: false,
        port: options.brokerPort ?? 5672,
        user: options.brokerUser ?? "guest",
        pass: options.brokerPass ?? "guest"
      },
      listen: `listen_${connector.id}`,
      listen_routing: `listen_routing_${connector.id}`,
      listen_exchange: "amqp.connector.exchange",
      listen_callback_uri: null,
      push: pushQueue(connector.id),
      push_routing: pushRouting(connector.id),
      push_exchange: workerExchange,
      dead_letter_routing: "listen_routing_too-large-bundle"
    }
  })

  const knownConnector = (id: string) => {
    const connector = connectors.get(id)
    if (connector === undefined) throw functionalError("No connector found with the specified ID")
    return connector
  }

  const rootValue = {
    about: () => ({ version: options.olderPlatform ? "6.5.0" : "6.8.10" }),
    connector: ({ id }: { id: string }) => {
      const connector = connectors.get(id)
      return connector === undefined ? null : view(connector)
    },
    registerConnector: async ({ input }: { input: RegisterInput }) => {
      const existing = connectors.get(input.id)
      const connector: Mutable<FakeConnector> = {
        id: input.id,
        name: input.name,
        type: input.type,
        scope: input.scope ?? [],
        auto: input.auto ?? null,
        onlyContextual: input.only_contextual ?? null,
        playbookCompatible: input.playbook_compatible ?? null,
        state: existing?.state ?? null,
        stateReset: existing?.stateReset ?? false,
        info: existing?.info,
        queueMessagesSize: existing?.queueMessagesSize ?? 0,
        registrations: (existing?.registrations ?? 0) + 1
      }
      connectors.set(connector.id, connector)
      await declarePushQueue(connector.id)
      return view(connector)
    },
    pingConnector: (
      { connectorInfo, id, state }: {
        id: string
        state?: string | null
        connectorInfo?: FakeConnectorInfo
      }
    ) => {
      const connector = knownConnector(id)
      if (connector.stateReset) connector.stateReset = false
      else connector.state = state ?? null
      if (connectorInfo !== undefined && connectorInfo !== null) {
        connector.info = { ...connectorInfo }
      }
      return view(connector)
    },
    workAdd: (
      { connectorId, friendlyName }: { connectorId: string; friendlyName?: string | null }
    ) => {
      let at = Date.now()
      while (works.has(workId(connectorId, at))) at += 1
      const work: Mutable<FakeWork> = {
        id: workId(connectorId, at),
        connectorId,
        name: friendlyName ?? null,
        status: "progress",
        expectations: 0,
        processed: false,
        messages: [],
        errors: []
      }
      works.set(work.id, work)
      return {
        id: work.id,
        name: work.name,
        timestamp: new Date(at).toISOString(),
        status: "progress"
      }
    },
    workEdit: ({ id }: { id: string }) => {
      const work = works.get(id)
      if (work === undefined) throw functionalError("Work not found")
      return {
        addExpectations: ({ expectations }: { expectations?: number | null }) => {
          work.expectations += expectations ?? 0
          return id
        },
        toProcessed: (
          { inError, message }: { message?: string | null; inError?: boolean | null }
        ) => {
          work.processed = true
          if (work.expectations === 0) work.status = "complete"
          if (inError) work.errors = [...work.errors, message ?? ""]
          else work.messages = [...work.messages, message ?? ""]
          return id
        },
        delete: () => {
          works.delete(id)
          return id
        }
      }
    },
    stixBundlePush: (
      { bundle, connectorId, work_id }: {
        connectorId: string
        bundle: string
        work_id?: string | null
      }
    ) => {
      const parsed = JSON.parse(bundle)
      if (
        parsed?.type !== "bundle" || !Array.isArray(parsed.objects) || parsed.objects.length === 0
      ) {
        throw functionalError("Invalid stix bundle")
      }
      if (!connectors.has(connectorId)) throw functionalError("Invalid connector")
      apiPushes.push({ connectorId, workId: work_id ?? null, bundle: parsed })
      return true
    }
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== "POST" || request.url?.split("?")[0] !== "/graphql") {
      return reply(response, 404, { errors: [{ message: "Not found" }] })
    }
    const body = parseBody(await readBody(request))
    const received = {
      operationName: typeof body.operationName === "string" ? body.operationName : null,
      variables: body.variables ?? {}
    }

    let document: DocumentNode
    try {
      document = parse(String(body.query ?? ""))
    } catch (error) {
      operations.push({ ...received, outcome: "rejected" })
      return reply(response, 400, { errors: [graphqlError(error, "GRAPHQL_PARSE_FAILED")] })
    }
    const invalid = validate(schema, document)
    if (invalid.length > 0) {
      operations.push({ ...received, outcome: "rejected" })
      return reply(response, 400, {
        errors: invalid.map((error) => graphqlError(error, "GRAPHQL_VALIDATION_FAILED"))
      })
    }
    if (request.headers.authorization !== `Bearer ${token}`) {
      operations.push({ ...received, outcome: "rejected" })
      return reply(response, options.authErrorStatus ?? 200, {
        errors: [{
          message: "You must be logged in to do this.",
          extensions: { code: "AUTH_REQUIRED", data: { http_status: 401, genre: "BUSINESS" } }
        }],
        data: null
      })
    }

    operations.push({ ...received, outcome: "executed" })
    const result = await execute({
      schema,
      document,
      rootValue,
      variableValues: received.variables,
      operationName: received.operationName
    })
    return reply(response, 200, result)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) =>
      reply(response, 500, { errors: [{ message: String(error) }] })
    )
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    userId,
    connector: (id) => {
      const connector = connectors.get(id)
      return connector === undefined ? undefined : { ...connector }
    },
    works: () => [...works.values()].map((work) => ({ ...work })),
    apiPushes: () => [...apiPushes],
    operations: () => [...operations],
    setQueueMessagesSize: (connectorId, bytes) => {
      knownConnector(connectorId).queueMessagesSize = bytes
    },
    resetState: async (connectorId) => {
      const connector = knownConnector(connectorId)
      connector.state = ""
      connector.stateReset = true
      await (await brokerChannel()).purgeQueue(pushQueue(connectorId))
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      if (broker !== undefined) {
        const { channel, model } = await broker
        for (const queue of declaredQueues) await channel.deleteQueue(queue)
        await model.close()
      }
    }
  }
}

interface RegisterInput {
  readonly id: string
  readonly name: string
  readonly type: string
  readonly scope?: ReadonlyArray<string> | null
  readonly auto?: boolean | null
  readonly only_contextual?: boolean | null
  readonly playbook_compatible?: boolean | null
}

interface RequestBody {
  readonly query?: unknown
  readonly operationName?: unknown
  readonly variables?: Record<string, unknown> | null
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const workId = (connectorId: string, at: number) =>
  `work_${connectorId}_${new Date(at).toISOString()}`

const functionalError = (message: string) =>
  new GraphQLError(message, { extensions: { code: "FUNCTIONAL_ERROR" } })

const graphqlError = (error: unknown, code: string) => ({
  message: error instanceof Error ? error.message : String(error),
  ...(error instanceof GraphQLError && error.locations !== undefined
    ? { locations: error.locations }
    : {}),
  extensions: { code }
})

const reply = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { "content-type": "application/json" })
  response.end(JSON.stringify(body))
}

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString("utf8")
}

const parseBody = (text: string): RequestBody => {
  try {
    const value = JSON.parse(text)
    return typeof value === "object" && value !== null ? value : {}
  } catch {
    return {}
  }
}

const referenceFile = (name: string) =>
  readFileSync(new URL(`../../../shared/reference/${name}`, import.meta.url), "utf8")

const schemaText = (() => {
  let text: string | undefined
  return () => (text ??= `${referenceFile("opencti.graphql")}\n${
    referenceFile("opencti-stubs.graphql")
  }`)
})()

let builtSchema: GraphQLSchema | undefined
let builtOlderSchema: GraphQLSchema | undefined

/** The platform's schema, built once per process. */
export const platformSchema =
  (): GraphQLSchema => (builtSchema ??= buildSchema(schemaText(), { assumeValidSDL: true }))

/** The same schema without what 6.5 platforms lack. */
export const olderPlatformSchema = (): GraphQLSchema => (builtOlderSchema ??= buildSchema(
  [
    ["  connector_queue_details: ConnectorQueueDetails!\n", ""],
    ["  connector_info: ConnectorInfo\n", ""],
    [
      "pingConnector(id: ID!, state: String, connectorInfo: ConnectorInfoInput)",
      "pingConnector(id: ID!, state: String)"
    ],
    [
      "stixBundlePush(connectorId: String!, bundle: String!, work_id: String)",
      "stixBundlePush(connectorId: String!, bundle: String!)"
    ]
  ].reduce((text, [from, to]) => {
    if (!text.includes(from!)) throw new Error(`The platform schema no longer contains ${from}`)
    return text.replace(from!, to!)
  }, schemaText()),
  { assumeValidSDL: true }
))
