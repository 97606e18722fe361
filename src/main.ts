#!/usr/bin/env node
import { ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer } from "effect"
import { cli } from "./Cli.js"
import * as Logging from "./Logging.js"

cli(process.argv).pipe(
  Effect.catchIf(
    (error) => !ValidationError.isValidationError(error) && error._tag === "ConnectorConfigError",
    (error) =>
      Console.error(`The configuration is not valid:\n${error.message}`).pipe(
        Effect.zipRight(Effect.fail(error))
      )
  ),
  Effect.tapDefect((cause) => Effect.logError("The command stopped on an unexpected error", cause)),
  Effect.provide(
    Layer.merge(NodeContext.layer, Logging.layer({ name: "SpyCloud", level: "info" }))
  ),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
