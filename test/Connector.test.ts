import { NodeContext } from "@effect/platform-node"
import { assert, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Either, Exit, Fiber, Option } from "effect"
import { randomUUID } from "node:crypto"
import { decodeBreachRecord, decodeCatalogEntry } from "../src/BreachRecord.js"
import { cli } from "../src/Cli.js"
import * as Converter from "../src/Converter.js"
import * as Simulator from "../src/Simulator/Server.js"
import type { StixObject } from "../src/Stix.js"
import * as Window from "../src/Window.js"
import type { FakeOpenCti } from "./support/FakeOpenCti.js"
import { fakeOpenCti, pushQueue } from "./support/FakeOpenCti.js"
import { closedPort, consumeAll, deleteQueue, describeWithRabbit } from "./support/rabbit.js"
import { validateStixObject } from "./support/stixSchemas.js"

const today = Window.dayOf(Date.now())
const days = 6

/** Runs `spycloud-connector run` in this process with these environment variables. */
const run = (environment: Record<string, string>) =>
  cli(["node", "spycloud-connector", "run"]).pipe(
    Effect.withConfigProvider(
      ConfigProvider.fromMap(new Map(Object.entries(environment)), { pathDelim: "_" })
    ),
    Effect.provide(NodeContext.layer),
    Effect.exit
  )

const environmentFor = (
  fake: FakeOpenCti,
  simulator: Simulator.Simulator,
  connectorId: string,
  extra: Record<string, string> = {}
) => ({
  OPENCTI_URL: fake.url,
  OPENCTI_TOKEN: fake.token,
  CONNECTOR_ID: connectorId,
  CONNECTOR_RUN_AND_TERMINATE: "true",
  CONNECTOR_LOG_LEVEL: process.env["TEST_LOG_LEVEL"] ?? "error",
  SPYCLOUD_API_BASE_URL: simulator.baseUrl,
  SPYCLOUD_API_KEY: simulator.apiKey,
  SPYCLOUD_IMPORT_START_DATE: Window.addDays(today, 1 - days),
  SPYCLOUD_WINDOW_MAX_RECORDS: "300",
  ...extra
})

/**
 * What `convert` makes of every record the simulator holds: each id with every version of its
 * object (an email address carries the display name and account of the record it came from).
 */
const expectedObjects = (simulator: Simulator.Simulator) => {
  const converter = Converter.make({
    connectorName: "SpyCloud",
    tlpLevel: "amber+strict",
    includeSecrets: false
  })
  const versions = new Map<string, Array<StixObject>>()
  const add = (object: StixObject) =>
    versions.set(object.id, [...versions.get(object.id) ?? [], object])
  add(converter.author)
  add(converter.marking)
  for (let index = 0; index < simulator.dataset.size; index++) {
    const record = Either.getOrThrow(decodeBreachRecord(simulator.dataset.recordAt(index)))
    const entry = record.sourceId === undefined
      ? undefined
      : decodeCatalogEntry(simulator.dataset.catalogEntry(record.sourceId))
    for (const object of converter.convert(record, entry).objects) add(object)
  }
  return versions
}

/**
 * Every id `convert` makes was received, nothing else was, and every property received is the one
 * `convert` gave that object in one of the records it came from.
 */
const assertSameObjects = (received: ReadonlyArray<StixObject>, simulator: Simulator.Simulator) => {
  const expected = expectedObjects(simulator)
  for (const object of received) {
    const versions = expected.get(object.id) ?? []
    for (const [key, value] of Object.entries(object)) {
      assert.isTrue(
        versions.some((version) => JSON.stringify(version[key]) === JSON.stringify(value)),
        `${object.id}.${key} is not what convert makes`
      )
    }
  }
  assert.deepStrictEqual(
    [...new Set(received.map((object) => object.id))].sort(),
    [...expected.keys()].sort()
  )
}

const idsOf = (objects: ReadonlyArray<StixObject>) => new Set(objects.map((object) => object.id))

const piecesOf = (
  messages: ReadonlyArray<{ readonly piece: { readonly objects: ReadonlyArray<unknown> } }>
) => messages.map((message) => message.piece.objects[0] as StixObject)

const completedState = `{"version":1,"types":{"all":{"completedThrough":"${
  Window.addDays(today, -1)
}"}}}`

const setUp = (options: Parameters<typeof fakeOpenCti>[0] = {}) =>
  Effect.gen(function*() {
    const simulator = yield* Simulator.start({
      records: 1200,
      seed: 7,
      until: today,
      days,
      previousDayRate: 0
    })
    const fake = yield* fakeOpenCti(options)
    const connectorId = randomUUID()
    yield* Effect.addFinalizer(() => Effect.promise(() => deleteQueue(pushQueue(connectorId))))
    return { simulator, fake, connectorId }
  })

describeWithRabbit("the connector against OpenCTI and RabbitMQ", () => {
  it.scopedLive("imports every record through the broker, exactly as convert makes them", () =>
    Effect.gen(function*() {
      const { connectorId, fake, simulator } = yield* setUp()
      const exit = yield* run(environmentFor(fake, simulator, connectorId))
      assert.isTrue(Exit.isSuccess(exit), String(exit))

      const messages = yield* Effect.promise(() => consumeAll(pushQueue(connectorId)))
      const connector = fake.connector(connectorId)!
      const [work, ...otherWorks] = fake.works()

      assert.strictEqual(otherWorks.length, 0)
      assert.strictEqual(work!.expectations, messages.length)
      assert.isTrue(work!.processed)
      assert.deepStrictEqual(work!.errors, [])
      assert.match(work!.messages.at(-1)!, /^SpyCloud connector successfully run: 1200 records, /)
      messages.forEach((message, index) => {
        assert.deepStrictEqual(Object.keys(message.body).sort(), [
          "action_sequence",
          "applicant_id",
          "bundle_type",
          "content",
          "draft_id",
          "entities_types",
          "update",
          "work_id"
        ])
        assert.strictEqual(message.body["bundle_type"], "QUEUE_BUNDLE")
        assert.strictEqual(message.body["applicant_id"], fake.userId)
        assert.strictEqual(message.body["work_id"], work!.id)
        assert.deepStrictEqual(message.body["entities_types"], [])
        assert.strictEqual(message.body["update"], false)
        assert.strictEqual(message.body["draft_id"], null)
        assert.isAtLeast(message.body["action_sequence"] as number, 1)
        assert.strictEqual(message.properties.deliveryMode, 2)
        assert.strictEqual(message.properties.contentEncoding, "utf-8")
        assert.strictEqual(message.piece.objects.length, 1, `message ${index}`)
        assert.deepStrictEqual(validateStixObject(message.piece.objects[0]), [])
      })
      assertSameObjects(piecesOf(messages), simulator)

      assert.strictEqual(connector.state, completedState)
      assert.strictEqual(connector.info?.run_and_terminate, true)
      assert.strictEqual(connector.info?.buffering, false)
      assert.isString(connector.info?.last_run_datetime)
    }))

  it.scopedLive("a second run re-reads only the overlap; after a reset it starts over", () =>
    Effect.gen(function*() {
      const { connectorId, fake, simulator } = yield* setUp()
      const environment = environmentFor(fake, simulator, connectorId)
      assert.isTrue(Exit.isSuccess(yield* run(environment)))
      const first = idsOf(piecesOf(yield* Effect.promise(() => consumeAll(pushQueue(connectorId)))))

      simulator.resetCounters()
      assert.isTrue(Exit.isSuccess(yield* run(environment)))
      const second = idsOf(
        piecesOf(yield* Effect.promise(() => consumeAll(pushQueue(connectorId))))
      )
      const queried = simulator.counters().recentRequests
        .filter((request) => request.path.endsWith("breach/data/watchlist"))
        .map((request) => Object.fromEntries(request.query))
        .filter((query) => query["cursor"] === undefined)
        .map((query) => `${query["since"]}..${query["until"]}`)
      const yesterday = Window.addDays(today, -1)
      assert.deepStrictEqual(queried, [
        `${yesterday}..${today}`,
        `${yesterday}..${yesterday}`,
        `${today}..${today}`
      ])
      assert.isAbove(second.size, 2)
      for (const id of second) assert.isTrue(first.has(id), `${id} is new`)
      assert.strictEqual(fake.connector(connectorId)!.state, completedState)

      yield* Effect.promise(() => fake.resetState(connectorId))
      assert.isTrue(Exit.isSuccess(yield* run(environment)))
      const third = idsOf(piecesOf(yield* Effect.promise(() => consumeAll(pushQueue(connectorId)))))
      assert.deepStrictEqual([...third].sort(), [...first].sort())
      assert.strictEqual(fake.connector(connectorId)!.state, completedState)
    }))

  it.scopedLive("pushes whole bundles through the API when asked to", () =>
    Effect.gen(function*() {
      const { connectorId, fake, simulator } = yield* setUp()
      const exit = yield* run(
        environmentFor(fake, simulator, connectorId, {
          CONNECTOR_QUEUE_PROTOCOL: "api",
          CONNECTOR_API_BUNDLE_MAX_OBJECTS: "400"
        })
      )
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const [work] = fake.works()
      const pushes = fake.apiPushes()
      assert.isAbove(pushes.length, 4)
      for (const push of pushes) {
        assert.strictEqual(push.workId, work!.id)
        assert.isAtMost(push.bundle.objects.length, 400)
      }
      assertSameObjects(
        pushes.flatMap((push) => push.bundle.objects as ReadonlyArray<StixObject>),
        simulator
      )
      assert.strictEqual(fake.connector(connectorId)!.state, completedState)
    }))

  it.scopedLive("runs against an older platform without the newer fields", () =>
    Effect.gen(function*() {
      const { connectorId, fake, simulator } = yield* setUp({ olderPlatform: true })
      const exit = yield* run(
        environmentFor(fake, simulator, connectorId, { CONNECTOR_QUEUE_PROTOCOL: "api" })
      )
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.strictEqual(fake.connector(connectorId)!.state, completedState)
      assert.isAbove(fake.apiPushes().length, 0)
    }))

  it.scopedLive("skips the run while the platform's queue is above the threshold", () =>
    Effect.gen(function*() {
      const { connectorId, fake, simulator } = yield* setUp()
      const environment = environmentFor(fake, simulator, connectorId, {
        CONNECTOR_QUEUE_THRESHOLD: "500"
      })
      assert.isTrue(Exit.isSuccess(yield* run(environment)))
      yield* Effect.promise(() => consumeAll(pushQueue(connectorId)))
      fake.setQueueMessagesSize(connectorId, 600_000_000)
      simulator.resetCounters()

      assert.isTrue(Exit.isSuccess(yield* run(environment)))
      assert.strictEqual(simulator.counters().watchlist, 0)
      assert.strictEqual(fake.works().length, 1)
      assert.strictEqual(fake.connector(connectorId)!.info?.buffering, true)
      assert.strictEqual(fake.connector(connectorId)!.info?.queue_messages_size, 600)
    }))

  it.scopedLive("on a schedule, skips a run while the queue is full and says so", () =>
    Effect.gen(function*() {
      const { connectorId, fake, simulator } = yield* setUp()
      const connector = yield* Effect.fork(
        run(
          environmentFor(fake, simulator, connectorId, {
            CONNECTOR_RUN_AND_TERMINATE: "false",
            CONNECTOR_DURATION_PERIOD: "PT1S"
          })
        )
      )
      const waitFor = (condition: () => boolean) =>
        Effect.repeat(Effect.sleep("50 millis"), { until: condition, times: 200 })

      yield* waitFor(() => fake.works().some((work) => work.processed))
      fake.setQueueMessagesSize(connectorId, 750_000_000)
      yield* waitFor(() => fake.connector(connectorId)?.info?.buffering === true)
      yield* Effect.sleep("1500 millis")
      const exit = yield* connector.pipe(Fiber.interrupt)

      assert.isTrue(Exit.isInterrupted(exit) || Exit.isSuccess(exit))
      assert.strictEqual(fake.works().length, 1)
      assert.strictEqual(fake.connector(connectorId)!.info?.buffering, true)
      assert.strictEqual(fake.connector(connectorId)!.info?.queue_messages_size, 750)
      assert.strictEqual(fake.connector(connectorId)!.info?.run_and_terminate, false)
      assert.isString(fake.connector(connectorId)!.info?.next_run_datetime)
    }))

  it.scopedLive("a wrong token fails clearly, before any work, without the token", () =>
    Effect.gen(function*() {
      const { connectorId, fake, simulator } = yield* setUp({ authErrorStatus: 401 })
      const exit = yield* run(
        environmentFor(fake, simulator, connectorId, { OPENCTI_TOKEN: "wrong-token-0d9f8e7c6b5a" })
      )
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(error))
      const failure = Option.getOrThrow(error) as { _tag: string; code?: string; message: string }
      assert.strictEqual(failure._tag, "OpenCtiError")
      assert.strictEqual(failure.code, "AUTH_REQUIRED")
      assert.isTrue(
        failure.message.endsWith(
          ": You must be logged in to do this. Check OPENCTI_TOKEN: it must be the API token of " +
            "an OpenCTI user."
        ),
        failure.message
      )
      assert.notInclude(String(exit), "wrong-token-0d9f8e7c6b5a")
      assert.strictEqual(fake.works().length, 0)
      assert.strictEqual(simulator.counters().watchlist, 0)
    }))

  it.scopedLive("an unreachable broker fails the run, closes its work in error, keeps state", () =>
    Effect.gen(function*() {
      const { connectorId, fake, simulator } = yield* setUp()
      const exit = yield* run(
        environmentFor(fake, simulator, connectorId, {
          MQ_PORT: String(yield* Effect.promise(closedPort))
        })
      )
      assert.isTrue(Exit.isFailure(exit))
      const [work] = fake.works()
      assert.isTrue(work!.processed)
      assert.strictEqual(work!.errors.length, 1)
      assert.match(work!.errors[0]!, /^Run failed: /)
      assert.strictEqual(fake.connector(connectorId)!.state, "null")
    }))

  it.scopedLive("an unreachable platform fails at start with its address", () =>
    Effect.gen(function*() {
      const { connectorId, fake, simulator } = yield* setUp()
      const url = `http://127.0.0.1:${yield* Effect.promise(closedPort)}`
      const exit = yield* run(environmentFor(fake, simulator, connectorId, { OPENCTI_URL: url }))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), url)
      assert.strictEqual(simulator.counters().watchlist, 0)
    }))
})
