/**
 * The GraphQL side of the platform: every document the connector sends, and the transport that
 * sends them and turns the platform's answers into data or an `OpenCtiError`.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { Redacted } from "effect"
import { Duration, Effect, Schema } from "effect"
import { OpenCtiError } from "../OpenCtiClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface GraphqlDocument {
  readonly operationName: string
  readonly text: string
}

const document = (operationName: string, text: string): GraphqlDocument => ({
  operationName,
  text: text.trim()
})

/**
 * @since 0.1.0
 * @category documents
 */
export const healthCheck = document(
  "healthCheck",
  `
query healthCheck {
  about { version }
}`
)

/**
 * @since 0.1.0
 * @category documents
 */
export const registerConnector = document(
  "RegisterConnector",
  `
mutation RegisterConnector($input: RegisterConnectorInput) {
  registerConnector(input: $input) {
    id
    connector_state
    connector_user_id
    config {
      connection { host vhost use_ssl port user pass }
      push
      push_routing
      push_exchange
    }
  }
}`
)

/**
 * @since 0.1.0
 * @category documents
 */
export const pingConnector = document(
  "PingConnector",
  `
mutation PingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput) {
  pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) {
    id
    connector_state
    connector_info {
      run_and_terminate
      buffering
      queue_threshold
      queue_messages_size
      next_run_datetime
      last_run_datetime
    }
  }
}`
)

/**
 * The ping of platforms that predate the connector info.
 *
 * @since 0.1.0
 * @category documents
 */
export const pingConnectorWithoutInfo = document(
  "PingConnector",
  `
mutation PingConnector($id: ID!, $state: String) {
  pingConnector(id: $id, state: $state) {
    id
    connector_state
  }
}`
)

/**
 * @since 0.1.0
 * @category documents
 */
export const workAdd = document(
  "workAdd",
  `
mutation workAdd($connectorId: String!, $friendlyName: String) {
  workAdd(connectorId: $connectorId, friendlyName: $friendlyName) { id }
}`
)

/**
 * @since 0.1.0
 * @category documents
 */
export const addExpectations = document(
  "addExpectations",
  `
mutation addExpectations($id: ID!, $expectations: Int) {
  workEdit(id: $id) { addExpectations(expectations: $expectations) }
}`
)

/**
 * @since 0.1.0
 * @category documents
 */
export const workToProcessed = document(
  "workToProcessed",
  `
mutation workToProcessed($id: ID!, $message: String, $inError: Boolean) {
  workEdit(id: $id) { toProcessed(message: $message, inError: $inError) }
}`
)

/**
 * @since 0.1.0
 * @category documents
 */
export const workDelete = document(
  "ConnectorWorksMutation",
  `
mutation ConnectorWorksMutation($workId: ID!) {
  workEdit(id: $workId) { delete }
}`
)

/**
 * @since 0.1.0
 * @category documents
 */
export const connectorQueueDetails = document(
  "GetConnector",
  `
query GetConnector($id: String!) {
  connector(id: $id) {
    id
    connector_queue_details { messages_number messages_size }
  }
}`
)

/**
 * @since 0.1.0
 * @category documents
 */
export const stixBundlePush = document(
  "StixBundlePush",
  `
mutation StixBundlePush($connectorId: String!, $bundle: String!, $work_id: String) {
  stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $work_id)
}`
)

/**
 * The API push of platforms that predate work ids on it.
 *
 * @since 0.1.0
 * @category documents
 */
export const stixBundlePushWithoutWork = document(
  "StixBundlePush",
  `
mutation StixBundlePush($connectorId: String!, $bundle: String!) {
  stixBundlePush(connectorId: $connectorId, bundle: $bundle)
}`
)

/**
 * Every document the client can send, the variants for older platforms included.
 *
 * @since 0.1.0
 * @category documents
 */
export const documents: ReadonlyArray<GraphqlDocument> = [
  healthCheck,
  registerConnector,
  pingConnector,
  pingConnectorWithoutInfo,
  workAdd,
  addExpectations,
  workToProcessed,
  workDelete,
  connectorQueueDetails,
  stixBundlePush,
  stixBundlePushWithoutWork
]

/**
 * @since 0.1.0
 * @category models
 */
export interface GraphqlTransport {
  /** Sends one document and decodes the `data` of the answer. */
  readonly request: <A, I>(
    document: GraphqlDocument,
    variables: Readonly<Record<string, unknown>>,
    data: Schema.Schema<A, I>
  ) => Effect.Effect<A, OpenCtiError>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const makeTransport = (options: {
  readonly url: string
  readonly token: Redacted.Redacted<string>
  readonly timeout: Duration.DurationInput
}): Effect.Effect<GraphqlTransport, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const platform = options.url.replace(/\/+$/, "")
    const endpoint = `${platform}/graphql`
    const client = yield* HttpClient.HttpClient
    const timeout = Duration.decode(options.timeout)

    const request = <A, I>(
      document: GraphqlDocument,
      variables: Readonly<Record<string, unknown>>,
      data: Schema.Schema<A, I>
    ): Effect.Effect<A, OpenCtiError> => {
      const operation = document.operationName
      const exchange = HttpClientRequest.post(endpoint).pipe(
        HttpClientRequest.bearerToken(options.token),
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyUnsafeJson({
          operationName: operation,
          query: document.text,
          variables
        }),
        client.execute,
        Effect.flatMap((response) =>
          Effect.map(response.text, (body) => ({ status: response.status, body }))
        ),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new OpenCtiError({
              operation,
              message: `The OpenCTI platform at ${platform} did not answer ${operation} within ` +
                `${Duration.format(timeout)}. Check that it is running and not overloaded.`
            })
        }),
        Effect.catchTag("RequestError", "ResponseError", (error) =>
          Effect.fail(unreachable(operation, platform, error)))
      )
      return Effect.flatMap(exchange, ({ body, status }) =>
        answer(operation, status, body, data))
    }

    return { request }
  })

/**
 * Whether the platform rejected the document because its schema lacks one of `names` (an
 * argument, a field or a type): the mark of a platform older than this connector.
 *
 * @since 0.1.0
 * @category errors
 */
export const rejectsAsUnknown = (error: OpenCtiError, names: ReadonlyArray<string>): boolean =>
  names.some((name) =>
    [`Unknown argument "${name}"`, `Cannot query field "${name}"`, `Unknown type "${name}"`].some(
      (complaint) => error.message.includes(complaint)
    )
  )

const PlatformErrors = Schema.Struct({
  errors: Schema.NonEmptyArray(Schema.Struct({
    message: Schema.String,
    extensions: Schema.optional(Schema.Struct({ code: Schema.optional(Schema.String) }))
  }))
})

const isPlatformErrors = Schema.is(PlatformErrors)

const answer = <A, I>(
  operation: string,
  status: number,
  body: string,
  data: Schema.Schema<A, I>
): Effect.Effect<A, OpenCtiError> => {
  const json = parseJson(body)
  if (isPlatformErrors(json)) {
    const [first] = json.errors
    const code = first.extensions?.code
    return Effect.fail(
      new OpenCtiError({
        operation,
        message: `The OpenCTI platform rejected ${operation}: ${first.message}${hint(code)}`,
        ...(code === undefined ? {} : { code })
      })
    )
  }
  if (status < 200 || status >= 300) {
    return Effect.fail(
      new OpenCtiError({
        operation,
        message:
          `The OpenCTI platform answered ${operation} with HTTP ${status}. Check OPENCTI_URL ` +
          `(it must point at the platform, not at a proxy page) and the platform's logs.`
      })
    )
  }
  const decoded = typeof json === "object" && json !== null && "data" in json
    ? json.data
    : undefined
  return Schema.decodeUnknown(data)(decoded).pipe(
    Effect.mapError(() =>
      new OpenCtiError({
        operation,
        message: `The OpenCTI platform answered ${operation} with data this connector does not ` +
          "understand. Check that OPENCTI_URL points at an OpenCTI platform of version 6.5 or " +
          "later."
      })
    )
  )
}

const hint = (code: string | undefined): string => {
  switch (code) {
    case "AUTH_REQUIRED":
      return " Check OPENCTI_TOKEN: it must be the API token of an OpenCTI user."
    case "FORBIDDEN_ACCESS":
      return " Check that the user of OPENCTI_TOKEN has the connector capability " +
        "(the Connector role)."
    default:
      return ""
  }
}

const unreachable = (
  operation: string,
  platform: string,
  error: HttpClientError.HttpClientError
): OpenCtiError =>
  new OpenCtiError({
    operation,
    message: `Cannot reach the OpenCTI platform at ${platform} (${rootCause(error)}). Check ` +
      `OPENCTI_URL and that the platform is running.`
  })

/** The most specific reason the network layer gave: a system error code when there is one. */
const rootCause = (error: unknown): string => {
  let reason = "no answer"
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 8; depth++) {
    if (typeof current !== "object" || current === null) break
    const { cause, code, message } = current as {
      cause?: unknown
      code?: unknown
      message?: unknown
    }
    if (typeof code === "string") return code
    if (typeof message === "string" && message !== "") reason = message
    current = cause
  }
  return reason
}

const parseJson = (body: string): unknown => {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}
