/**
 * Builds `dist/` once before the tests when any source file is newer than its build output, so
 * the tests that spawn `node dist/main.js` run what `src/` says, on a fresh clone too. A failed
 * build does not stop the other tests: the tests that spawn the connector report it
 * (`assertDistBuilt` in `connectorProcess.ts`).
 */
import { execFile } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    /** Empty when `dist/` is up to date; otherwise what the build printed. */
    readonly distBuildProblem: string
  }
}

const root = fileURLToPath(new URL("../../", import.meta.url))

export default async function setup(project: TestProject): Promise<void> {
  requireSharedFolder()
  const stale = staleSources()
  const problem = stale.length === 0 ? "" : await build()
  project.provide("distBuildProblem", problem)
}

/**
 * The tests read the OASIS schemas, the id vectors, the fixtures and the platform's GraphQL schema
 * from `../shared`, beside the project: say so once rather than fail in every file.
 */
const requireSharedFolder = () => {
  const shared = join(root, "..", "shared")
  const needed = ["stix2-json-schemas", "stix-id-vectors.json", "fixtures", "reference"]
  const missing = needed.filter((name) => !existsSync(join(shared, name)))
  if (missing.length > 0) {
    throw new Error(
      `The tests need the shared folder at ${shared} (missing: ${missing.join(", ")}). ` +
        "Check out the project beside it, as CI does."
    )
  }
}

/** Source files whose compiled file is missing or older than they are. */
const staleSources = (): ReadonlyArray<string> => {
  const configTime = Math.max(
    ...["tsconfig.json", "tsconfig.build.json", "package.json"].map((name) =>
      statSync(join(root, name)).mtimeMs
    )
  )
  return sourceFiles(join(root, "src")).filter((source) => {
    const output = join(root, "dist", relative(join(root, "src"), source)).replace(/\.ts$/, ".js")
    try {
      const built = statSync(output).mtimeMs
      return built < statSync(source).mtimeMs || built < configTime
    } catch {
      return true
    }
  })
}

const sourceFiles = (directory: string): ReadonlyArray<string> =>
  readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : []
  })

const build = (): Promise<string> =>
  new Promise((resolve) => {
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
    execFile(
      process.execPath,
      [tsc, "-p", "tsconfig.build.json"],
      { cwd: root, timeout: 180_000 },
      (error, stdout, stderr) =>
        resolve(
          error === null ?
            "" :
            `Building dist/ (tsc -p tsconfig.build.json) failed:\n${`${stdout}${stderr}`.trim()}`
        )
    )
  })
