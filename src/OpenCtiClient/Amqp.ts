/**
 * The push over the platform's RabbitMQ broker: the queue messages workers read, and a publisher
 * that keeps one connection with a confirm channel, opened on first use, reopened after it breaks,
 * and succeeds only once the broker has confirmed every message.
 *
 * @since 0.1.0
 */
import * as amqp from "amqplib"
import type { Scope } from "effect"
import { Deferred, Duration, Effect, Exit, Redacted, Runtime } from "effect"
import { OpenCtiError } from "../OpenCtiClient.js"
import type { QueuePiece } from "./Split.js"

/**
 * Where the broker is and who the connector is on it: the registration's `connection`, with the
 * `MQ_*` overrides applied.
 *
 * @since 0.1.0
 * @category models
 */
export interface BrokerConnection {
  readonly host: string
  readonly port: number
  readonly vhost: string
  readonly useSsl: boolean
  readonly user: string
  readonly pass: Redacted.Redacted<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PushRoute {
  readonly exchange: string
  readonly routingKey: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface QueuePublisher {
  /**
   * Publishes the messages in order and succeeds once the broker has confirmed every one of them
   * and routed each to a queue.
   */
  readonly publish: (
    connection: BrokerConnection,
    route: PushRoute,
    messages: QueueMessages
  ) => Effect.Effect<void, OpenCtiError>
}

/**
 * The messages of one push, encoded one at a time as they are published.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueueMessages {
  readonly count: number
  readonly encode: (index: number) => Buffer
}

/**
 * The queue messages of a split bundle, as the platform's workers read them: `action_sequence`
 * counts from 1, `content` is the base64 of the piece's JSON.
 *
 * @since 0.1.0
 * @category encoding
 */
export const queueMessages = (
  pieces: ReadonlyArray<QueuePiece>,
  applicantId: string | null,
  workId: string
): QueueMessages => {
  const head = `{"bundle_type":"QUEUE_BUNDLE","applicant_id":${JSON.stringify(applicantId)},` +
    `"action_sequence":`
  const tail = `,"update":false,"draft_id":null,"work_id":${JSON.stringify(workId)}}`
  return {
    count: pieces.length,
    encode: (index) => {
      const content = Buffer.from(JSON.stringify(pieces[index]), "utf8").toString("base64")
      return Buffer.from(
        `${head}${index + 1},"entities_types":[],"content":"${content}"${tail}`,
        "utf8"
      )
    }
  }
}

/**
 * A publisher that owns at most one broker connection at a time, closed with the scope. Pushes
 * are written one after the other, never interleaved, and the next one is written while the
 * broker still confirms the previous one, so the broker never waits for the connector between
 * pushes. A push fails when the broker returns a message as unroutable before the push's last
 * confirm: one of its own, or one of the push still being confirmed when it started.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePublisher = (options?: {
  readonly connectTimeout?: Duration.DurationInput
  readonly heartbeatSeconds?: number
}): Effect.Effect<QueuePublisher, never, Scope.Scope> =>
  Effect.gen(function*() {
    const connectTimeout = Duration.toMillis(options?.connectTimeout ?? defaultConnectTimeout)
    const heartbeat = options?.heartbeatSeconds ?? defaultHeartbeatSeconds
    const runtime = yield* Effect.runtime<never>()
    const log = (effect: Effect.Effect<void>) => Runtime.runFork(runtime)(effect)
    const lock = yield* Effect.makeSemaphore(1)
    let session: Session | undefined

    const discard = (stale: Session) =>
      Effect.sync(() => {
        stale.broken = true
        if (session === stale) session = undefined
        stale.model.close().catch(() => undefined)
      })

    const open = (connection: BrokerConnection): Effect.Effect<Session, OpenCtiError> =>
      Effect.tryPromise({
        try: async () => {
          const model = await amqp.connect(
            {
              protocol: connection.useSsl ? "amqps" : "amqp",
              hostname: connection.host,
              port: connection.port,
              vhost: connection.vhost,
              username: connection.user,
              password: Redacted.value(connection.pass),
              heartbeat
            },
            { timeout: connectTimeout, noDelay: true }
          )
          const channel = await model.createConfirmChannel().catch((error: unknown) => {
            model.close().catch(() => undefined)
            throw error
          })
          const opened: Session = {
            key: sessionKey(connection),
            model,
            channel,
            returned: 0,
            broken: false
          }
          const markBroken = () => {
            opened.broken = true
            if (session === opened) session = undefined
          }
          model.on("error", markBroken)
          model.on("close", markBroken)
          channel.on("error", markBroken)
          channel.on("close", markBroken)
          channel.on("return", () => {
            opened.returned += 1
          })
          model.on("blocked", (reason: string) =>
            log(Effect.logWarning(
              `The RabbitMQ broker is holding back published messages (${reason}); pushes wait ` +
                "until it accepts them again."
            )))
          model.on("unblocked", () =>
            log(Effect.logInfo("The RabbitMQ broker accepts published messages again.")))
          return opened
        },
        catch: (error) =>
          connectFailure(connection, error)
      })

    const ready = (connection: BrokerConnection): Effect.Effect<Session, OpenCtiError> =>
      Effect.suspend(() => {
        const current = session
        if (current !== undefined && !current.broken && current.key === sessionKey(connection)) {
          return Effect.succeed(current)
        }
        // Uninterruptible so that a connection, once open, is always known to the finalizer.
        return (current === undefined ? Effect.void : discard(current)).pipe(
          Effect.zipRight(open(connection)),
          Effect.tap((opened) =>
            Effect.sync(() => {
              session = opened
            })
          ),
          Effect.uninterruptible
        )
      })

    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        const current = session
        session = undefined
        return current === undefined ?
          Effect.void :
          Effect.promise(() => current.model.close().catch(() => undefined)).pipe(
            // Interruptible, or the timeout would wait for it: a finalizer runs uninterruptibly.
            Effect.interruptible,
            Effect.timeout(closeTimeout),
            Effect.ignore
          )
      })
    )

    const publish = (
      connection: BrokerConnection,
      route: PushRoute,
      messages: QueueMessages
    ): Effect.Effect<void, OpenCtiError> => {
      if (messages.count === 0) return Effect.void
      const failed = (current: Session, error: unknown) =>
        Effect.zipRight(discard(current), Effect.fail(publishFailure(connection, messages, error)))

      return Effect.gen(function*() {
        const { confirmed, current, returnedBefore } = yield* lock.withPermits(1)(
          Effect.gen(function*() {
            const current = yield* ready(connection)
            const returnedBefore = current.returned
            const confirmed = yield* publishAll(current.channel, route, messages).pipe(
              Effect.catchAll((error) => failed(current, error))
            )
            return { confirmed, current, returnedBefore }
          })
        )
        yield* confirmed.pipe(Effect.catchAll((error) => failed(current, error)))

        const unroutable = current.returned - returnedBefore
        if (unroutable > 0) {
          return yield* Effect.fail(
            new OpenCtiError({
              operation: "pushBundle",
              message: `The RabbitMQ broker could not route ${unroutable} of ${messages.count} ` +
                `messages (exchange "${route.exchange}", routing key "${route.routingKey}"): ` +
                "the connector's push queue is missing. Restart the connector so that it " +
                "registers again, which declares the queue."
            })
          )
        }
      })
    }

    return { publish }
  })

const defaultConnectTimeout = Duration.seconds(10)
const defaultHeartbeatSeconds = 10
const closeTimeout = Duration.seconds(5)

/** Persistent, and routed to a queue or returned to us. */
const publishOptions = { persistent: true, contentEncoding: "utf-8", mandatory: true } as const

interface Session {
  readonly key: string
  readonly model: amqp.ChannelModel
  readonly channel: amqp.ConfirmChannel
  returned: number
  broken: boolean
}

const sessionKey = (connection: BrokerConnection): string =>
  JSON.stringify([
    connection.host,
    connection.port,
    connection.vhost,
    connection.useSsl,
    connection.user,
    Redacted.value(connection.pass)
  ])

/**
 * Publishes without waiting for each confirm, pausing while the channel's write buffer is full.
 * Succeeds once every message is written, with the wait for the broker's confirms: it completes
 * when the last confirm arrives, or fails on the first nack or on channel loss.
 */
const publishAll = (
  channel: amqp.ConfirmChannel,
  route: PushRoute,
  messages: QueueMessages
): Effect.Effect<Effect.Effect<void, unknown>, unknown> =>
  Effect.flatMap(
    Deferred.make<void, unknown>(),
    (confirms) =>
      Effect.async<Effect.Effect<void, unknown>, unknown>((resume) => {
        let next = 0
        let confirmed = 0
        let written = false
        let settled = false

        const fail = (error: unknown) => {
          if (settled) return
          settled = true
          channel.removeListener("drain", publishMore)
          Deferred.unsafeDone(confirms, Exit.fail(error))
          if (!written) resume(Effect.fail(error))
        }
        const onConfirm = (error: unknown) => {
          if (error !== null && error !== undefined) return fail(error)
          confirmed += 1
          if (confirmed === messages.count) Deferred.unsafeDone(confirms, Exit.void)
        }
        function publishMore() {
          try {
            while (next < messages.count && !settled) {
              const body = messages.encode(next++)
              if (
                !channel.publish(route.exchange, route.routingKey, body, publishOptions, onConfirm)
              ) {
                channel.once("drain", publishMore)
                return
              }
            }
            if (settled) return
            written = true
            resume(Effect.succeed(Deferred.await(confirms)))
          } catch (error) {
            fail(error)
          }
        }

        publishMore()
        return Effect.sync(() => {
          settled = true
          channel.removeListener("drain", publishMore)
        })
      })
  )

const brokerAddress = (connection: BrokerConnection): string =>
  `${connection.useSsl ? "amqps" : "amqp"}://${connection.host}:${connection.port} ` +
  `(vhost "${connection.vhost}")`

const connectFailure = (connection: BrokerConnection, error: unknown): OpenCtiError => {
  const reason = describe(connection, error)
  const advice = /ACCESS.REFUSED|403/.test(reason)
    ? `Check MQ_USER and MQ_PASS for user "${connection.user}".`
    : /vhost|NOT.ALLOWED|530/.test(reason)
    ? "Check MQ_VHOST."
    : "Check MQ_HOST, MQ_PORT and MQ_USE_SSL (they override what the platform announced) and " +
      "that the broker is running."
  return new OpenCtiError({
    operation: "pushBundle",
    message: `Cannot open a connection to the RabbitMQ broker at ${brokerAddress(connection)}: ` +
      `${reason}. ${advice}`
  })
}

const publishFailure = (
  connection: BrokerConnection,
  messages: QueueMessages,
  error: unknown
): OpenCtiError =>
  new OpenCtiError({
    operation: "pushBundle",
    message:
      `The RabbitMQ broker at ${brokerAddress(connection)} did not confirm every one of the ` +
      `${messages.count} messages of the bundle (${describe(connection, error)}); the bundle ` +
      "must be pushed again."
  })

/** The error's own words, with the broker password removed should they ever quote it. */
const describe = (connection: BrokerConnection, error: unknown): string => {
  const code = typeof error === "object" && error !== null && "code" in error
    ? error.code
    : undefined
  const text = error instanceof Error && error.message !== ""
    ? error.message
    : typeof code === "string"
    ? code
    : String(error)
  const secret = Redacted.value(connection.pass)
  return secret.length >= 3 ? text.split(secret).join("***") : text
}
