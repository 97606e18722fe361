/**
 * The benchmarks measure the connector as it ships: compiled JavaScript, not TypeScript loaded
 * through a transpiler (which would add about 100 MiB to every peak RSS). Before measuring, the
 * connector's sources and the benchmark's child processes are compiled with `tsc` into
 * `node_modules/.cache/spycloud-bench`, where they resolve the project's dependencies.
 */
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = new URL("../../", import.meta.url)

/** Where the compiled tree goes; `src/` and `bench/support/` keep their places inside it. */
export const buildDir = fileURLToPath(new URL("node_modules/.cache/spycloud-bench/", root))

/** A compiled child script, e.g. `child.js`. */
export const compiled = (script: string): string =>
  fileURLToPath(
    new URL(`bench/support/${script}`, new URL("node_modules/.cache/spycloud-bench/", root))
  )

/** Compiles the connector and the child scripts; throws with the compiler's output on errors. */
export const buildChildren = (): void => {
  const tsc = fileURLToPath(new URL("node_modules/typescript/bin/tsc", root))
  const project = fileURLToPath(new URL("tsconfig.json", import.meta.url))
  execFileSync(process.execPath, [tsc, "-p", project, "--outDir", buildDir], {
    stdio: ["ignore", "inherit", "inherit"]
  })
  // Inside node_modules, Node finds no package.json of ours: say that these files are ES modules.
  writeFileSync(`${buildDir}package.json`, `{ "type": "module" }\n`)
}
