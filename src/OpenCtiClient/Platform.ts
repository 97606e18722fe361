/**
 * The OpenCTI platform itself: GraphQL for the health check, registration, pings, works and the
 * queue size; bundles pushed to the platform's RabbitMQ broker (the default, as OpenCTI's Python
 * connectors do) or through its `stixBundlePush` API. Platforms older than this connector (6.5)
 * are recognised by what their schema rejects, and served without the newer arguments.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Scope } from "effect"
import { Duration, Effect, Layer, Option, Redacted, Ref, Schema } from "effect"
import type { Settings } from "../ConnectorConfig.js"
import { ConnectorConfig } from "../ConnectorConfig.js"
import type { ConnectorInfo, OpenCtiClientShape } from "../OpenCtiClient.js"
import { OpenCtiClient, OpenCtiError } from "../OpenCtiClient.js"
import type { Bundle } from "../Stix.js"
import type { BrokerConnection, PushRoute } from "./Amqp.js"
import { makePublisher, queueMessages } from "./Amqp.js"
import * as Graphql from "./Graphql.js"
import { partitionBundle, queuePieces } from "./Split.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface PlatformOptions {
  /** How long one GraphQL call may take. Default: 2 minutes. */
  readonly requestTimeout?: Duration.DurationInput
  /** How long opening the broker connection may take. Default: 10 seconds. */
  readonly brokerConnectTimeout?: Duration.DurationInput
}

/**
 * A client for the platform at `settings.opencti.url`. The broker connection is opened at the
 * first AMQP push and closed with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  settings: Settings,
  options?: PlatformOptions
): Effect.Effect<OpenCtiClientShape, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const connectorId = settings.connector.id
    const graphql = yield* Graphql.makeTransport({
      url: settings.opencti.url,
      token: settings.opencti.token,
      timeout: options?.requestTimeout ?? defaultRequestTimeout
    })
    const publisher = yield* makePublisher(
      options?.brokerConnectTimeout === undefined
        ? {}
        : { connectTimeout: options.brokerConnectTimeout }
    )
    const queue = yield* Ref.make(Option.none<QueueAccess>())
    const missing = yield* Ref.make<ReadonlySet<NewerFeature>>(new Set())
    const warnedOlder = yield* Ref.make(false)

    const noteOlderPlatform = (feature: NewerFeature) =>
      Effect.gen(function*() {
        yield* Ref.update(missing, (known) => new Set([...known, feature]))
        if (yield* Ref.getAndSet(warnedOlder, true)) return
        yield* Effect.logWarning(
          "The OpenCTI platform is older than this connector expects (its schema lacks " +
            `${newerFeatures[feature][0]}); the connector carries on without the newer ` +
            "details: connector info in pings, queue size (read as 0), work ids on API pushes."
        )
      })

    /** `newer`, or `older` once the platform has rejected what `feature` needs. */
    const dependingOnPlatform = <A>(
      feature: NewerFeature,
      newer: Effect.Effect<A, OpenCtiError>,
      older: Effect.Effect<A, OpenCtiError>
    ): Effect.Effect<A, OpenCtiError> =>
      Effect.gen(function*() {
        if ((yield* Ref.get(missing)).has(feature)) return yield* older
        return yield* newer.pipe(
          Effect.catchIf(
            (error) => Graphql.rejectsAsUnknown(error, newerFeatures[feature]),
            () => Effect.zipRight(noteOlderPlatform(feature), older)
          )
        )
      })

    const register = Effect.gen(function*() {
      const { about } = yield* graphql.request(Graphql.healthCheck, {}, HealthAnswer)
      const { registerConnector: registered } = yield* graphql.request(
        Graphql.registerConnector,
        {
          input: {
            id: connectorId,
            name: settings.connector.name,
            type: "EXTERNAL_IMPORT",
            scope: settings.connector.scope,
            auto: false,
            only_contextual: false,
            playbook_compatible: false
          }
        },
        RegisterAnswer
      )

      yield* Ref.set(
        queue,
        Option.some({
          applicantId: registered.connector_user_id ?? null,
          connection: brokerConnection(registered.config.connection, settings.mq),
          route: {
            exchange: registered.config.push_exchange,
            routingKey: registered.config.push_routing
          }
        })
      )
      yield* Effect.logDebug("The OpenCTI platform accepted the connector's registration").pipe(
        Effect.annotateLogs({ connectorId: registered.id, platformVersion: about.version })
      )
      return { connectorId: registered.id, connectorState: storedState(registered.connector_state) }
    }).pipe(Effect.withSpan("OpenCtiClient.register"))

    const ping = Effect.fn("OpenCtiClient.ping")(
      function*(state: string | undefined, info: ConnectorInfo) {
        const sent = { id: connectorId, state: state ?? "null" }
        const { pingConnector: pinged } = yield* dependingOnPlatform(
          "connectorInfo",
          graphql.request(
            Graphql.pingConnector,
            { ...sent, connectorInfo: connectorInfoInput(info) },
            PingAnswer
          ),
          graphql.request(Graphql.pingConnectorWithoutInfo, sent, PingAnswer)
        )
        if (pinged === null) return yield* unknownConnector("PingConnector", connectorId)
        return storedState(pinged.connector_state)
      }
    )

    const queueMessagesSize = dependingOnPlatform(
      "queueDetails",
      graphql.request(Graphql.connectorQueueDetails, { id: connectorId }, QueueAnswer).pipe(
        Effect.map(({ connector }) => connector?.connector_queue_details.messages_size ?? 0)
      ),
      Effect.succeed(0)
    ).pipe(Effect.withSpan("OpenCtiClient.queueMessagesSize"))

    const startWork = Effect.fn("OpenCtiClient.startWork")(function*(friendlyName: string) {
      const { workAdd } = yield* graphql.request(
        Graphql.workAdd,
        { connectorId, friendlyName },
        WorkAddAnswer
      )
      return workAdd.id
    })

    const finishWork = Effect.fn("OpenCtiClient.finishWork")(
      function*(workId: string, message: string, inError: boolean) {
        yield* graphql.request(
          Graphql.workToProcessed,
          { id: workId, message, inError },
          Schema.Unknown
        )
      }
    )

    const deleteWork = Effect.fn("OpenCtiClient.deleteWork")(function*(workId: string) {
      yield* graphql.request(Graphql.workDelete, { workId }, Schema.Unknown)
    })

    const pushToQueue = Effect.fn("OpenCtiClient.pushBundle")(
      function*(bundle: Bundle, workId: string) {
        const access = yield* Ref.get(queue)
        if (Option.isNone(access)) {
          return yield* new OpenCtiError({
            operation: "pushBundle",
            message: "A bundle was pushed before the connector registered with the platform, so " +
              "the broker and the push queue are unknown. Call register first."
          })
        }
        const { applicantId, connection, route } = access.value

        const pieces = queuePieces(bundle)
        if (pieces.length === 0) return { messages: 0 }

        yield* graphql.request(
          Graphql.addExpectations,
          { id: workId, expectations: pieces.length },
          Schema.Unknown
        )
        yield* publisher.publish(connection, route, queueMessages(pieces, applicantId, workId))
        return { messages: pieces.length }
      }
    )

    const pushToApi = Effect.fn("OpenCtiClient.pushBundle")(
      function*(bundle: Bundle, workId: string) {
        if (bundle.objects.length === 0) return { messages: 0 }
        const parts = partitionBundle(bundle, settings.connector.apiBundleMaxObjects)

        yield* Effect.forEach(parts, (part) => {
          const sent = { connectorId, bundle: JSON.stringify(part) }
          return dependingOnPlatform(
            "workId",
            graphql.request(Graphql.stixBundlePush, { ...sent, work_id: workId }, PushAnswer),
            graphql.request(Graphql.stixBundlePushWithoutWork, sent, PushAnswer)
          ).pipe(
            Effect.filterOrFail(
              ({ stixBundlePush }) => stixBundlePush !== false,
              () =>
                new OpenCtiError({
                  operation: "StixBundlePush",
                  message: "The OpenCTI platform did not accept a bundle pushed through its API; " +
                    "check the platform's logs."
                })
            )
          )
        }, { discard: true })
        return { messages: parts.length }
      }
    )

    return {
      register,
      ping,
      queueMessagesSize,
      startWork,
      finishWork,
      deleteWork,
      pushBundle: settings.connector.queueProtocol === "api" ? pushToApi : pushToQueue
    }
  })

/**
 * The live client, configured by `ConnectorConfig`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<OpenCtiClient, never, HttpClient.HttpClient | ConnectorConfig> =
  Layer.scoped(
    OpenCtiClient,
    Effect.flatMap(ConnectorConfig, (settings) => make(settings))
  )

const defaultRequestTimeout = Duration.minutes(2)

interface QueueAccess {
  readonly applicantId: string | null
  readonly connection: BrokerConnection
  readonly route: PushRoute
}

type NewerFeature = "connectorInfo" | "queueDetails" | "workId"

/** The names an older platform's schema rejects, per feature. */
const newerFeatures: Record<NewerFeature, ReadonlyArray<string>> = {
  connectorInfo: ["connectorInfo", "connector_info", "ConnectorInfoInput", "ConnectorInfo"],
  queueDetails: ["connector_queue_details", "ConnectorQueueDetails"],
  workId: ["work_id"]
}

const HealthAnswer = Schema.Struct({ about: Schema.Struct({ version: Schema.String }) })

const RegisterAnswer = Schema.Struct({
  registerConnector: Schema.Struct({
    id: Schema.String,
    connector_state: Schema.NullishOr(Schema.String),
    connector_user_id: Schema.NullishOr(Schema.String),
    config: Schema.Struct({
      connection: Schema.Struct({
        host: Schema.String,
        vhost: Schema.String,
        use_ssl: Schema.Boolean,
        port: Schema.Number,
        user: Schema.String,
        pass: Schema.String
      }),
      push: Schema.String,
      push_routing: Schema.String,
      push_exchange: Schema.String
    })
  })
})

const PingAnswer = Schema.Struct({
  pingConnector: Schema.NullOr(Schema.Struct({ connector_state: Schema.NullishOr(Schema.String) }))
})

const QueueAnswer = Schema.Struct({
  connector: Schema.NullOr(Schema.Struct({
    connector_queue_details: Schema.Struct({ messages_size: Schema.Number })
  }))
})

const WorkAddAnswer = Schema.Struct({ workAdd: Schema.Struct({ id: Schema.String }) })

const PushAnswer = Schema.Struct({ stixBundlePush: Schema.NullishOr(Schema.Boolean) })

/** `""`, `null` and the JSON text `"null"` all mean "no state": the platform's reset gives `""`. */
const storedState = (state: string | null | undefined): string | undefined =>
  state === undefined || state === null || state === "" || state === "null" ? undefined : state

const connectorInfoInput = (info: ConnectorInfo) => ({
  run_and_terminate: info.runAndTerminate,
  buffering: info.buffering,
  queue_threshold: info.queueThresholdMb,
  queue_messages_size: info.queueMessagesSizeMb,
  next_run_datetime: utcSeconds(info.nextRunAt),
  last_run_datetime: utcSeconds(info.lastRunAt)
})

const utcSeconds = (date: Date | undefined): string | null =>
  date === undefined ? null : `${date.toISOString().slice(0, 19)}Z`

const brokerConnection = (
  announced: typeof RegisterAnswer.Type["registerConnector"]["config"]["connection"],
  overrides: Settings["mq"]
): BrokerConnection => ({
  host: overrides.host ?? announced.host,
  port: overrides.port ?? announced.port,
  vhost: overrides.vhost ?? announced.vhost,
  useSsl: overrides.useSsl ?? announced.use_ssl,
  user: overrides.user ?? announced.user,
  pass: overrides.pass ?? Redacted.make(announced.pass)
})

const unknownConnector = (operation: string, connectorId: string) =>
  Effect.fail(
    new OpenCtiError({
      operation,
      message: `The OpenCTI platform does not know connector ${connectorId} (it may have been ` +
        "deleted). Restart the connector so that it registers again."
    })
  )
