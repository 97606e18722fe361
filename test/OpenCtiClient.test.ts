import type { HttpClient } from "@effect/platform"
import { FileSystem, Path } from "@effect/platform"
import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import { assert, describe, expect, it } from "@effect/vitest"
import type { Scope } from "effect"
import { Duration, Effect, Exit, Fiber, Layer, Logger, Redacted, Schedule } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtemp, readdir, readFile } from "node:fs/promises"
import type { ServerResponse } from "node:http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Settings } from "../src/ConnectorConfig.js"
import { ConnectorConfig } from "../src/ConnectorConfig.js"
import type { ConnectorInfo } from "../src/OpenCtiClient.js"
import { OpenCtiClient, OpenCtiError } from "../src/OpenCtiClient.js"
import * as Files from "../src/OpenCtiClient/Files.js"
import * as Memory from "../src/OpenCtiClient/Memory.js"
import * as Platform from "../src/OpenCtiClient/Platform.js"
import { partitionBundle, queuePieces } from "../src/OpenCtiClient/Split.js"
import type { Bundle, StixObject } from "../src/Stix.js"
import type { FakeOpenCtiOptions } from "./support/FakeOpenCti.js"
import { fakeOpenCti, pushQueue } from "./support/FakeOpenCti.js"
import {
  closedPort,
  consumeAll,
  deleteQueue,
  describeWithRabbit,
  queueLength,
  tcpProxy
} from "./support/rabbit.js"

// Small hand-made STIX: the author, the marking and, per record, an incident, a user account, an
// email address that belongs to it and both observables related to the incident.

const marking: StixObject = {
  type: "marking-definition",
  spec_version: "2.1",
  id: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
  created: "2017-01-20T00:00:00.000Z",
  definition_type: "tlp",
  name: "TLP:GREEN",
  definition: { tlp: "green" }
}

const author: StixObject = {
  type: "identity",
  spec_version: "2.1",
  id: "identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
  created: "2024-01-01T00:00:00.000Z",
  modified: "2024-01-01T00:00:00.000Z",
  name: "SpyCloud",
  identity_class: "organization",
  object_marking_refs: [marking.id]
}

const recordObjects = (n: number): ReadonlyArray<StixObject> => {
  const tail = n.toString(16).padStart(12, "0")
  const common = { created_by_ref: author.id, object_marking_refs: [marking.id] }
  const observable = { x_opencti_created_by_ref: author.id, object_marking_refs: [marking.id] }
  const created = "2026-08-17T00:00:00.000Z"
  const incident = {
    type: "incident",
    spec_version: "2.1",
    id: `incident--6f1d2c3b-0000-4000-8000-${tail}`,
    created,
    modified: created,
    name: `SpyCloud high alert on user${n}@example.com [6f1d2c3b]`,
    incident_type: "data-breach",
    severity: "high",
    ...common
  }
  const account = {
    type: "user-account",
    spec_version: "2.1",
    id: `user-account--6f1d2c3b-0000-4000-8000-${tail}`,
    account_login: `user${n}`,
    ...observable
  }
  const email = {
    type: "email-addr",
    spec_version: "2.1",
    id: `email-addr--6f1d2c3b-0000-4000-8000-${tail}`,
    value: `user${n}@example.com`,
    belongs_to_ref: account.id,
    ...observable
  }
  const related = (source: StixObject, prefix: string) => ({
    type: "relationship",
    spec_version: "2.1",
    id: `relationship--${prefix}-0000-4000-8000-${tail}`,
    created,
    modified: created,
    relationship_type: "related-to",
    source_ref: source.id,
    target_ref: incident.id,
    ...common
  })
  return [incident, account, email, related(email, "aaaaaaaa"), related(account, "bbbbbbbb")]
}

const bundleOf = (records: ReadonlyArray<number>): Bundle => ({
  type: "bundle",
  id: `bundle--9a3c0f5e-0000-4000-8000-${records.length.toString(16).padStart(12, "0")}`,
  objects: [marking, author, ...records.flatMap(recordObjects)]
})

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)

const unresolvedRefs = (bundle: Bundle): ReadonlyArray<string> => {
  const ids = new Set(bundle.objects.map((object) => object.id))
  return bundle.objects.flatMap((object) =>
    Object.entries(object).flatMap(([key, value]) =>
      key.endsWith("_refs")
        ? (value as ReadonlyArray<string>).filter((ref) => !ids.has(ref))
        : key.endsWith("_ref") && !ids.has(value as string)
        ? [value as string]
        : []
    )
  )
}

const settingsFor = (
  url: string,
  token: string,
  overrides: {
    readonly connector?: Partial<Settings["connector"]>
    readonly mq?: Partial<Settings["mq"]>
  } = {}
): Settings => ({
  opencti: { url, token: Redacted.make(token) },
  connector: {
    id: randomUUID(),
    name: "SpyCloud",
    scope: ["spycloud"],
    logLevel: "info",
    durationPeriod: Duration.hours(1),
    runAndTerminate: false,
    queueThresholdMb: 500,
    queueProtocol: "amqp",
    apiBundleMaxObjects: 1000,
    ...overrides.connector
  },
  spycloud: {
    baseUrl: "https://api.spycloud.io/enterprise-v2/",
    apiKey: Redacted.make("unused"),
    severityLevels: [],
    watchlistTypes: [],
    tlpLevel: "green",
    importStartDate: "2026-08-01",
    includeSecrets: false,
    requestTimeout: Duration.seconds(30),
    windowMaxRecords: 10_000
  },
  mq: {
    host: undefined,
    port: undefined,
    vhost: undefined,
    useSsl: undefined,
    user: undefined,
    pass: undefined,
    ...overrides.mq
  }
})

/** A fake platform and a client registered with it. */
const platform = (
  fakeOptions: FakeOpenCtiOptions = {},
  overrides: Parameters<typeof settingsFor>[2] = {}
) =>
  Effect.gen(function*() {
    const fake = yield* fakeOpenCti(fakeOptions)
    const settings = settingsFor(fake.url, fake.token, overrides)
    const client = yield* Platform.make(settings, { brokerConnectTimeout: Duration.seconds(5) })
    return { fake, settings, client, connectorId: settings.connector.id }
  })

/** A test against the fake platform, with a real HTTP client for the test's duration. */
const itPlatform = <E>(
  name: string,
  body: () => Effect.Effect<void, E, HttpClient.HttpClient | Scope.Scope>
) => it.scopedLive(name, () => body().pipe(Effect.provide(NodeHttpClient.layerUndici)))

const info: ConnectorInfo = {
  runAndTerminate: false,
  buffering: true,
  queueThresholdMb: 500,
  queueMessagesSizeMb: 1.5,
  nextRunAt: new Date("2026-08-18T10:00:00.250Z"),
  lastRunAt: undefined
}

const captureLogs = () => {
  const lines: Array<{ readonly level: string; readonly message: string }> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push({
      level: logLevel.label,
      message: Array.isArray(message) ? message.join(" ") : String(message)
    })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("splitting for the queue", () => {
  it("gives one piece per object, dependencies first, counted as the platform's splitter does", () => {
    const bundle = bundleOf([1])
    const [incident, account, email, emailRelated, accountRelated] = recordObjects(1)
    const expected: ReadonlyArray<readonly [StixObject, number]> = [
      [marking, 1],
      [author, 2],
      [incident!, 4],
      [account!, 4],
      [email!, 8],
      [accountRelated!, 12],
      [emailRelated!, 16]
    ]
    assert.deepStrictEqual(
      queuePieces(bundle),
      expected.map(([object, seq]) => ({
        type: "bundle",
        id: bundle.id,
        spec_version: "2.1",
        x_opencti_seq: seq,
        objects: [object]
      }))
    )
  })

  it("sends a repeated id once and cuts reference cycles", () => {
    const a = { type: "x-a", id: "x-a--1", peer_ref: "x-b--1" }
    const b = { type: "x-b", id: "x-b--1", peer_ref: "x-a--1", self_ref: "x-b--1" }
    const pieces = queuePieces({ type: "bundle", id: "bundle--c", objects: [a, b, a] })
    assert.deepStrictEqual(pieces.map((piece) => [piece.objects[0].id, piece.x_opencti_seq]), [
      ["x-b--1", 1],
      ["x-a--1", 2]
    ])
  })
})

describe("splitting for the API", () => {
  it("keeps a bundle that fits as it is", () => {
    const bundle = bundleOf([1, 2])
    assert.deepStrictEqual(partitionBundle(bundle, 12), [bundle])
  })

  it("packs whole records with their author and marking into parts of at most the maximum", () => {
    const bundle = bundleOf(range(1, 5))
    const parts = partitionBundle(bundle, 12)
    assert.deepStrictEqual(
      parts,
      [
        bundleOf([1, 2]),
        bundleOf([3, 4]),
        bundleOf([5])
      ].map((part) => ({ ...part, id: bundle.id }))
    )
    for (const part of parts) assert.deepStrictEqual(unresolvedRefs(part), [])
  })

  it("cuts a record that does not fit, each part still self-contained", () => {
    const bundle = bundleOf([1])
    const parts = partitionBundle(bundle, 4)
    const [incident, account, email, emailRelated, accountRelated] = recordObjects(1)
    assert.deepStrictEqual(parts.map((part) => part.objects), [
      [marking, author, incident, account],
      [marking, author, account, email],
      [marking, author, incident, account, email, emailRelated],
      [marking, author, incident, account, accountRelated]
    ])
    for (const part of parts) assert.deepStrictEqual(unresolvedRefs(part), [])
  })
})

describe("Files sink", () => {
  it.effect("writes each bundle to a numbered file, creating the directory", () =>
    Effect.gen(function*() {
      const root = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "opencti-files-")))
      const dir = join(root, "out", "bundles")
      const client = yield* Effect.provide(OpenCtiClient, Files.layer(dir))

      const first = bundleOf([1])
      const second = bundleOf([2, 3])
      assert.deepStrictEqual(yield* client.pushBundle(first, "work-1"), { messages: 1 })
      assert.deepStrictEqual(yield* client.pushBundle({ ...first, objects: [] }, "work-1"), {
        messages: 0
      })
      assert.deepStrictEqual(yield* client.pushBundle(second, "work-1"), { messages: 1 })

      assert.deepStrictEqual(yield* Effect.promise(() => readdir(dir)), [
        "bundle-000001.json",
        "bundle-000002.json"
      ])
      const read = (name: string) =>
        Effect.promise(() => readFile(join(dir, name), "utf8")).pipe(Effect.map(JSON.parse))
      assert.deepStrictEqual(yield* read("bundle-000001.json"), first)
      assert.deepStrictEqual(yield* read("bundle-000002.json"), second)
      assert.strictEqual(yield* client.ping("{\"a\":1}", info), "{\"a\":1}")
      assert.strictEqual(yield* client.queueMessagesSize, 0)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("fails with an OpenCtiError naming the file when it cannot write", () =>
    Effect.gen(function*() {
      const root = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "opencti-files-")))
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const blocker = path.join(root, "taken")
      yield* fs.writeFileString(blocker, "not a directory")
      const client = yield* Effect.provide(OpenCtiClient, Files.layer(path.join(blocker, "out")))
      const error = yield* Effect.flip(client.pushBundle(bundleOf([1]), "work-1"))
      assert.strictEqual(error.operation, "pushBundle")
      assert.include(
        error.message,
        `Cannot write the bundle file ${blocker}/out/bundle-000001.json`
      )
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("Memory client", () => {
  it.effect("keeps the pushed bundles, the works and the state as the platform would", () =>
    Effect.gen(function*() {
      const { client, platform } = yield* Memory.make({ connectorId: "c1", state: "{\"a\":1}" })
      assert.deepStrictEqual(yield* client.register, {
        connectorId: "c1",
        connectorState: "{\"a\":1}"
      })

      const workId = yield* client.startWork("SpyCloud run")
      yield* client.pushBundle(bundleOf([1]), workId)
      yield* client.pushBundle(bundleOf([2]), workId)
      yield* client.finishWork(workId, "done", false)
      assert.deepStrictEqual(yield* platform.bundles, [bundleOf([1]), bundleOf([2])])
      assert.deepStrictEqual(yield* platform.works, [{
        id: "work_c1_1",
        name: "SpyCloud run",
        status: "complete",
        message: "done",
        inError: false,
        bundles: 2
      }])

      assert.strictEqual(yield* client.ping("{\"a\":2}", info), "{\"a\":2}")
      yield* platform.resetState
      assert.strictEqual(yield* client.ping("{\"a\":2}", info), undefined)
      assert.strictEqual(yield* client.ping("{\"a\":3}", info), "{\"a\":3}")
      yield* platform.setQueueMessagesSize(2048)
      assert.strictEqual(yield* client.queueMessagesSize, 2048)
    }))

  it.effect("serves the client and the sink from one layer", () =>
    Effect.gen(function*() {
      const client = yield* OpenCtiClient
      const sink = yield* Memory.InMemorySink
      yield* client.pushBundle(bundleOf([7]), "w")
      assert.deepStrictEqual(yield* sink.bundles, [bundleOf([7])])
    }).pipe(Effect.provide(Memory.layer)))
})

describe("Platform client, GraphQL failures", () => {
  const server = (answer: (response: ServerResponse) => void) =>
    Effect.acquireRelease(
      Effect.promise(async () => {
        const http = createServer((_, response) => answer(response))
        await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
        return { http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` }
      }),
      ({ http }) =>
        Effect.promise(() => {
          http.closeAllConnections()
          return new Promise<void>((resolve) => http.close(() => resolve()))
        })
    )

  itPlatform("gives up on a platform that does not answer in time", () =>
    Effect.gen(function*() {
      const { url } = yield* server(() => undefined)
      const client = yield* Platform.make(settingsFor(url, "t0ken"), {
        requestTimeout: Duration.millis(300)
      })
      const error = yield* Effect.flip(client.register)
      assert.strictEqual(
        error.message,
        `The OpenCTI platform at ${url} did not answer healthCheck within 300ms. Check that it is ` +
          "running and not overloaded."
      )
    }))

  itPlatform("reports an answer that is not the platform's", () =>
    Effect.gen(function*() {
      const { url } = yield* server((response) => {
        response.writeHead(502, { "content-type": "text/html" })
        response.end("<html>Bad gateway</html>")
      })
      const client = yield* Platform.make(settingsFor(url, "t0ken"))
      const error = yield* Effect.flip(client.register)
      assert.deepStrictEqual(
        { operation: error.operation, message: error.message, code: error.code },
        {
          operation: "healthCheck",
          message:
            "The OpenCTI platform answered healthCheck with HTTP 502. Check OPENCTI_URL (it " +
            "must point at the platform, not at a proxy page) and the platform's logs.",
          code: undefined
        }
      )
    }))
})

describeWithRabbit("Platform client", () => {
  itPlatform(
    "registers: health check first, then the connector as an external import",
    () =>
      Effect.gen(function*() {
        const { client, connectorId, fake } = yield* platform()
        assert.deepStrictEqual(yield* client.register, { connectorId, connectorState: undefined })
        assert.deepStrictEqual(fake.operations().map((operation) => operation.operationName), [
          "healthCheck",
          "RegisterConnector"
        ])
        assert.deepStrictEqual(fake.operations()[1]?.variables, {
          input: {
            id: connectorId,
            name: "SpyCloud",
            type: "EXTERNAL_IMPORT",
            scope: ["spycloud"],
            auto: false,
            only_contextual: false,
            playbook_compatible: false
          }
        })

        yield* client.ping("{\"version\":1}", info)
        assert.deepStrictEqual(yield* client.register, {
          connectorId,
          connectorState: "{\"version\":1}"
        })
        assert.strictEqual(fake.connector(connectorId)?.registrations, 2)
      })
  )

  itPlatform(
    "pings with the state and the connector info, and returns the stored state",
    () =>
      Effect.gen(function*() {
        const { client, connectorId, fake } = yield* platform()
        yield* client.register

        assert.strictEqual(yield* client.ping("{\"version\":1}", info), "{\"version\":1}")
        assert.strictEqual(fake.connector(connectorId)?.state, "{\"version\":1}")
        assert.deepStrictEqual(fake.connector(connectorId)?.info, {
          run_and_terminate: false,
          buffering: true,
          queue_threshold: 500,
          queue_messages_size: 1.5,
          next_run_datetime: "2026-08-18T10:00:00Z",
          last_run_datetime: null
        })

        assert.strictEqual(yield* client.ping(undefined, info), undefined)
        assert.strictEqual(fake.connector(connectorId)?.state, "null")
      })
  )

  itPlatform(
    "adopts a reset: the next ping returns no state and the platform ignores ours",
    () =>
      Effect.gen(function*() {
        const { client, connectorId, fake } = yield* platform()
        yield* client.register
        yield* client.ping("{\"version\":1}", info)

        yield* Effect.promise(() => fake.resetState(connectorId))
        assert.strictEqual(yield* client.ping("{\"version\":1}", info), undefined)
        assert.strictEqual(fake.connector(connectorId)?.state, "")
        assert.strictEqual(yield* client.ping("{\"version\":2}", info), "{\"version\":2}")
      })
  )

  itPlatform("opens, finishes and deletes works", () =>
    Effect.gen(function*() {
      const { client, connectorId, fake } = yield* platform()
      yield* client.register

      const ok = yield* client.startWork("SpyCloud run @ 2026-08-18")
      expect(ok).toMatch(new RegExp(`^work_${connectorId}_\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`))
      yield* client.finishWork(ok, "3 windows imported", false)
      const failed = yield* client.startWork("SpyCloud run @ 2026-08-19")
      yield* client.finishWork(failed, "SpyCloud answered 403", true)
      const empty = yield* client.startWork("SpyCloud run @ 2026-08-20")
      yield* client.deleteWork(empty)

      assert.deepStrictEqual(fake.works(), [
        {
          id: ok,
          connectorId,
          name: "SpyCloud run @ 2026-08-18",
          status: "complete",
          expectations: 0,
          processed: true,
          messages: ["3 windows imported"],
          errors: []
        },
        {
          id: failed,
          connectorId,
          name: "SpyCloud run @ 2026-08-19",
          status: "complete",
          expectations: 0,
          processed: true,
          messages: [],
          errors: ["SpyCloud answered 403"]
        }
      ])
    }))

  itPlatform("reads the queue size in bytes", () =>
    Effect.gen(function*() {
      const { client, connectorId, fake } = yield* platform()
      yield* client.register
      assert.strictEqual(yield* client.queueMessagesSize, 0)
      fake.setQueueMessagesSize(connectorId, 734_003_200)
      assert.strictEqual(yield* client.queueMessagesSize, 734_003_200)
    }))

  itPlatform(
    "pushes one message per object to the push queue, confirmed, dependencies first",
    () =>
      Effect.gen(function*() {
        const { client, connectorId, fake } = yield* platform()
        yield* client.register
        const workId = yield* client.startWork("SpyCloud run")
        const bundle = bundleOf([1])

        assert.deepStrictEqual(yield* client.pushBundle(bundle, workId), { messages: 7 })
        assert.strictEqual(fake.works()[0]?.expectations, 7)

        const messages = yield* Effect.promise(() => consumeAll(pushQueue(connectorId)))
        const [incident, account, email, emailRelated, accountRelated] = recordObjects(1)
        const expected = [
          [marking, 1],
          [author, 2],
          [incident, 4],
          [account, 4],
          [email, 8],
          [accountRelated, 12],
          [emailRelated, 16]
        ] as const
        assert.strictEqual(messages.length, 7)
        messages.forEach((message, index) => {
          const [object, seq] = expected[index]!
          assert.deepStrictEqual(Object.keys(message.body), [
            "bundle_type",
            "applicant_id",
            "action_sequence",
            "entities_types",
            "content",
            "update",
            "draft_id",
            "work_id"
          ])
          assert.deepStrictEqual({ ...message.body, content: "checked below" }, {
            bundle_type: "QUEUE_BUNDLE",
            applicant_id: fake.userId,
            action_sequence: index + 1,
            entities_types: [],
            content: "checked below",
            update: false,
            draft_id: null,
            work_id: workId
          })
          assert.deepStrictEqual(message.piece, {
            type: "bundle",
            id: bundle.id,
            spec_version: "2.1",
            x_opencti_seq: seq,
            objects: [object]
          })
          assert.strictEqual(message.properties.deliveryMode, 2)
          assert.strictEqual(message.properties.contentEncoding, "utf-8")
        })
      })
  )

  itPlatform(
    "pushes through the API in self-contained parts of at most the maximum",
    () =>
      Effect.gen(function*() {
        const { client, connectorId, fake } = yield* platform({}, {
          connector: { queueProtocol: "api", apiBundleMaxObjects: 12 }
        })
        yield* client.register
        const workId = yield* client.startWork("SpyCloud run")
        const bundle = bundleOf(range(1, 5))

        assert.deepStrictEqual(yield* client.pushBundle(bundle, workId), { messages: 3 })
        const pushes = fake.apiPushes()
        assert.deepStrictEqual(pushes.map((push) => [push.connectorId, push.workId]), [
          [connectorId, workId],
          [connectorId, workId],
          [connectorId, workId]
        ])
        assert.deepStrictEqual(pushes.map((push) => push.bundle.objects.length), [12, 12, 7])
        for (const push of pushes) assert.deepStrictEqual(unresolvedRefs(push.bundle), [])
        assert.deepStrictEqual(
          new Set(pushes.flatMap((push) => push.bundle.objects.map((object) => object.id))),
          new Set(bundle.objects.map((object) => object.id))
        )
        assert.strictEqual(fake.works()[0]?.expectations, 0)
        assert.strictEqual(yield* Effect.promise(() => queueLength(pushQueue(connectorId))), 0)
      })
  )

  for (const status of [200, 401] as const) {
    itPlatform(
      `reports a wrong token (HTTP ${status}) as AUTH_REQUIRED without the token`,
      () =>
        Effect.gen(function*() {
          const fake = yield* fakeOpenCti({ authErrorStatus: status })
          const token = "wrong-token-7f3e9c1a2b"
          const client = yield* Platform.make(settingsFor(fake.url, token))
          const error = yield* Effect.flip(client.register)

          assert.instanceOf(error, OpenCtiError)
          assert.strictEqual(error.operation, "healthCheck")
          assert.strictEqual(error.code, "AUTH_REQUIRED")
          assert.strictEqual(
            error.message,
            "The OpenCTI platform rejected healthCheck: You must be logged in to do this. Check " +
              "OPENCTI_TOKEN: it must be the API token of an OpenCTI user."
          )
          for (const text of [error.message, String(error), JSON.stringify(error)]) {
            assert.notInclude(text, token)
          }
        }).pipe(Effect.provide(NodeHttpClient.layerUndici))
    )
  }

  itPlatform("names the platform's URL when it cannot be reached", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(closedPort)
      const client = yield* Platform.make(settingsFor(`http://127.0.0.1:${port}/`, "t0ken-abc"))
      const error = yield* Effect.flip(client.register)
      assert.strictEqual(error.operation, "healthCheck")
      assert.strictEqual(
        error.message,
        `Cannot reach the OpenCTI platform at http://127.0.0.1:${port} (ECONNREFUSED). Check ` +
          "OPENCTI_URL and that the platform is running."
      )
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  itPlatform(
    "fails the push when the broker cannot be reached, without the broker password",
    () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(closedPort)
        const { client, connectorId, fake } = yield* platform({}, {
          mq: { port, pass: Redacted.make("broker-s3cret-pass") }
        })
        yield* client.register
        const workId = yield* client.startWork("SpyCloud run")
        const error = yield* Effect.flip(client.pushBundle(bundleOf([1]), workId))

        assert.strictEqual(error.operation, "pushBundle")
        assert.strictEqual(
          error.message,
          `Cannot open a connection to the RabbitMQ broker at amqp://127.0.0.1:${port} (vhost "/"): ` +
            `connect ECONNREFUSED 127.0.0.1:${port}. Check MQ_HOST, MQ_PORT and MQ_USE_SSL ` +
            "(they override what the platform " +
            "announced) and that the broker is running."
        )
        assert.notInclude(JSON.stringify(error), "broker-s3cret-pass")
        assert.strictEqual(yield* Effect.promise(() => queueLength(pushQueue(connectorId))), 0)
        assert.strictEqual(fake.works()[0]?.expectations, 7)
      })
  )

  itPlatform(
    "applies the MQ_* overrides to what registration announced",
    () =>
      Effect.gen(function*() {
        const proxy = yield* Effect.acquireRelease(
          Effect.promise(() => tcpProxy(5672)),
          (proxy) => Effect.promise(proxy.close)
        )
        const announcedPort = yield* Effect.promise(closedPort)
        const { client, connectorId } = yield* platform(
          { brokerPort: announcedPort, brokerUser: "nobody", brokerPass: "not-the-password" },
          {
            mq: {
              host: "127.0.0.1",
              port: proxy.port,
              vhost: "/",
              useSsl: false,
              user: "guest",
              pass: Redacted.make("guest")
            }
          }
        )
        yield* client.register
        const workId = yield* client.startWork("SpyCloud run")

        assert.deepStrictEqual(yield* client.pushBundle(bundleOf([1]), workId), { messages: 7 })
        assert.strictEqual(proxy.connections(), 1)
        assert.strictEqual(yield* Effect.promise(() => queueLength(pushQueue(connectorId))), 7)
      })
  )

  itPlatform(
    "reports refused broker credentials without the password",
    () =>
      Effect.gen(function*() {
        const { client } = yield* platform({ brokerPass: "announced-wrong-pass" })
        yield* client.register
        const workId = yield* client.startWork("SpyCloud run")
        const error = yield* Effect.flip(client.pushBundle(bundleOf([1]), workId))

        assert.match(
          error.message,
          /^Cannot open a connection to the RabbitMQ broker at amqp:\/\/127\.0\.0\.1:5672 \(vhost "\/"\): .*ACCESS.REFUSED.*\. Check MQ_USER and MQ_PASS for user "guest"\.$/
        )
        assert.notInclude(JSON.stringify(error), "announced-wrong-pass")
      })
  )

  itPlatform(
    "reuses one broker connection and opens a new one after it breaks",
    () =>
      Effect.gen(function*() {
        const proxy = yield* Effect.acquireRelease(
          Effect.promise(() => tcpProxy(5672)),
          (proxy) => Effect.promise(proxy.close)
        )
        const { client, connectorId } = yield* platform({ brokerPort: proxy.port })
        yield* client.register
        const workId = yield* client.startWork("SpyCloud run")

        yield* client.pushBundle(bundleOf([1]), workId)
        yield* client.pushBundle(bundleOf([2]), workId)
        assert.strictEqual(proxy.connections(), 1)

        proxy.cutConnections()
        yield* Effect.sleep("100 millis")
        yield* client.pushBundle(bundleOf([3]), workId)
        assert.strictEqual(proxy.connections(), 2)
        assert.strictEqual(yield* Effect.promise(() => queueLength(pushQueue(connectorId))), 21)
      })
  )

  itPlatform(
    "fails a push whose connection breaks mid-bundle, and the next push succeeds",
    () =>
      Effect.gen(function*() {
        const proxy = yield* Effect.acquireRelease(
          Effect.promise(() => tcpProxy(5672)),
          (proxy) => Effect.promise(proxy.close)
        )
        const { client, connectorId } = yield* platform({ brokerPort: proxy.port })
        yield* client.register
        const workId = yield* client.startWork("SpyCloud run")
        yield* client.pushBundle(bundleOf([0]), workId)

        const big = yield* Effect.fork(client.pushBundle(bundleOf(range(1, 6000)), workId))
        // Cut once the broker holds part of the bundle: the push is under way.
        yield* Effect.promise(() => queueLength(pushQueue(connectorId))).pipe(
          Effect.repeat({
            until: (length) => length > 7 + 100,
            schedule: Schedule.spaced("10 millis")
          })
        )
        proxy.cutConnections()
        const exit = yield* Fiber.await(big)

        assert.isTrue(Exit.isFailure(exit))
        const error = yield* Effect.flip(exit)
        assert.strictEqual(error.operation, "pushBundle")
        assert.include(
          error.message,
          "did not confirm every one of the 30002 messages of the bundle"
        )

        yield* Effect.promise(() => deleteQueue(pushQueue(connectorId)).then(() => undefined))
        yield* client.register
        assert.deepStrictEqual(yield* client.pushBundle(bundleOf([1]), workId), { messages: 7 })
        assert.strictEqual(yield* Effect.promise(() => queueLength(pushQueue(connectorId))), 7)
      })
  )

  itPlatform(
    "fails the push when the broker cannot route to the push queue",
    () =>
      Effect.gen(function*() {
        const { client, connectorId } = yield* platform()
        yield* client.register
        const workId = yield* client.startWork("SpyCloud run")
        yield* Effect.promise(() => deleteQueue(pushQueue(connectorId)))

        const error = yield* Effect.flip(client.pushBundle(bundleOf([1]), workId))
        assert.strictEqual(
          error.message,
          "The RabbitMQ broker could not route 7 of 7 messages (exchange \"amqp.worker.exchange\", " +
            `routing key "push_routing_${connectorId}"): the connector's push queue is missing. ` +
            "Restart the connector so that it registers again, which declares the queue."
        )
      })
  )

  itPlatform("serves an older platform without the newer arguments, warning once", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const { client, connectorId, fake } = yield* platform({ olderPlatform: true }, {
        connector: { queueProtocol: "api" }
      })
      yield* client.register

      assert.strictEqual(yield* client.ping("{\"version\":1}", info), "{\"version\":1}")
      assert.strictEqual(yield* client.ping("{\"version\":2}", info), "{\"version\":2}")
      assert.strictEqual(fake.connector(connectorId)?.info, undefined)
      fake.setQueueMessagesSize(connectorId, 99)
      assert.strictEqual(yield* client.queueMessagesSize, 0)
      assert.strictEqual(yield* client.queueMessagesSize, 0)
      const workId = yield* client.startWork("SpyCloud run")
      assert.deepStrictEqual(yield* client.pushBundle(bundleOf([1]), workId), { messages: 1 })
      assert.deepStrictEqual(yield* client.pushBundle(bundleOf([2]), workId), { messages: 1 })
      assert.deepStrictEqual(fake.apiPushes().map((push) => push.workId), [null, null])

      assert.deepStrictEqual(
        fake.operations().map((operation) => [operation.operationName, operation.outcome]),
        [
          ["healthCheck", "executed"],
          ["RegisterConnector", "executed"],
          ["PingConnector", "rejected"],
          ["PingConnector", "executed"],
          ["PingConnector", "executed"],
          ["GetConnector", "rejected"],
          ["workAdd", "executed"],
          ["StixBundlePush", "rejected"],
          ["StixBundlePush", "executed"],
          ["StixBundlePush", "executed"]
        ]
      )
      assert.deepStrictEqual(logs.lines.filter((line) => line.level === "WARN"), [{
        level: "WARN",
        message: "The OpenCTI platform is older than this connector expects (its schema lacks " +
          "connectorInfo); the connector carries on without the newer details: connector info in " +
          "pings, queue size (read as 0), work ids on API pushes."
      }])
    }).pipe(Effect.provide(logs.layer))
  })

  itPlatform("is built by the layer from the connector settings", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenCti()
      const settings = settingsFor(fake.url, fake.token)
      const registration = yield* Effect.flatMap(OpenCtiClient, (client) => client.register).pipe(
        Effect.provide(
          Platform.layer.pipe(
            Layer.provide(NodeHttpClient.layerUndici),
            Layer.provide(Layer.succeed(ConnectorConfig, settings))
          )
        )
      )
      assert.deepStrictEqual(registration, {
        connectorId: settings.connector.id,
        connectorState: undefined
      })
    }))
})
