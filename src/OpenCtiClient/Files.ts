/**
 * A directory of bundle files instead of a platform: each pushed bundle becomes
 * `bundle-000001.json`, `bundle-000002.json`, ... (the STIX bundle itself, ready to import into
 * OpenCTI by hand); an empty bundle writes nothing. Registration, pings and works succeed without
 * doing anything.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Effect, Layer, Ref } from "effect"
import { OpenCtiClient, OpenCtiError } from "../OpenCtiClient.js"
import type { Bundle } from "../Stix.js"

/**
 * Writes bundles into `dir`, created when missing. A file appears complete or not at all: it is
 * written under a temporary name and then renamed.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  dir: string
): Layer.Layer<OpenCtiClient, never, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    OpenCtiClient,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const written = yield* Ref.make(0)
      const works = yield* Ref.make(0)

      const pushBundle = Effect.fn("OpenCtiFiles.pushBundle")(function*(bundle: Bundle) {
        if (bundle.objects.length === 0) return { messages: 0 }
        const number = yield* Ref.updateAndGet(written, (count) => count + 1)
        const file = path.join(dir, `bundle-${String(number).padStart(6, "0")}.json`)
        const partial = `${file}.partial`

        // Compact: a page's bundle is megabytes, and indentation adds a fifth to what is written.
        yield* fs.makeDirectory(dir, { recursive: true }).pipe(
          Effect.zipRight(fs.writeFileString(partial, `${JSON.stringify(bundle)}\n`)),
          Effect.zipRight(fs.rename(partial, file)),
          Effect.mapError((error) =>
            new OpenCtiError({
              operation: "pushBundle",
              message: `Cannot write the bundle file ${file} (${error.message}). Check that the ` +
                "directory is writable and the disk not full."
            })
          )
        )
        return { messages: 1 }
      })

      return OpenCtiClient.of({
        register: Effect.succeed({ connectorId: "bundle-files", connectorState: undefined }),
        ping: (state) => Effect.succeed(state),
        queueMessagesSize: Effect.succeed(0),
        startWork: () =>
          Effect.map(Ref.updateAndGet(works, (count) => count + 1), (n) => `work-${n}`),
        finishWork: () => Effect.void,
        deleteWork: () => Effect.void,
        pushBundle
      })
    })
  )
