import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, dirname, join } from "node:path"
import { collect, type Daemon, freePort, type Ran, startDaemon } from "../helpers/processes.ts"

// gatehouse as a user gets it: `npm pack`, the tarball installed into an empty project, then the
// installed `gatehouse` command and `import ... from "gatehouse"`. Node never strips types under
// node_modules, so everything here must run from the shipped JavaScript.

const repo = new URL("../..", import.meta.url).pathname
// npm and the `#!/usr/bin/env node` bin run under the Node running this test.
const PATH = [dirname(process.execPath), process.env.PATH ?? ""].join(delimiter)

const npmFound = spawnSync("npm", ["--version"], { env: { ...process.env, PATH }, stdio: "ignore" }).status === 0
if (!npmFound) {
  if (process.env.CI === "true") throw new Error("npm must be on PATH under CI: the pack test installs the packed tarball")
  console.log("skipping the pack test: npm is not on PATH (it packs gatehouse and installs the tarball)")
}

// With type stripping off, loading any .ts file fails (ERR_UNKNOWN_FILE_EXTENSION), so a passing
// run proves that only JavaScript ran. Node versions without the flag rely on the stderr checks.
const noStripping: Record<string, string> = process.allowedNodeEnvironmentFlags.has("--experimental-strip-types")
  ? { NODE_OPTIONS: "--no-experimental-strip-types" }
  : {}

// The test's environment minus npm's lifecycle variables (`npm test` sets npm_config_local_prefix
// to this repo, which would make `npm install` install here). HOME stays: npm's cache is in it.
const npmEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v
  return { ...env, PATH, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" }
}

const exec = (cmd: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string>): Promise<Ran> => collect(cmd, args, { cwd, env })

// No process may have run a .ts file from node_modules (what the installed package used to do).
const noTsRun = (output: string) => {
  assert.notInclude(output, "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING")
  assert.notInclude(output, "ERR_UNKNOWN_FILE_EXTENSION")
}
const checked = (r: Ran): Ran => {
  noTsRun(r.stdout + r.stderr)
  return r
}

const listJs = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".js"))
    .map((f) => f.slice(0, -".js".length))
    .sort()

describe.runIf(npmFound)("the packed gatehouse package, installed into an empty project", () => {
  const work = mkdtempSync(join(tmpdir(), "gatehouse-pack-"))
  const project = join(work, "project")
  const installed = join(project, "node_modules", "gatehouse")
  const bin = join(project, "node_modules", ".bin", "gatehouse")
  const home = join(work, "home")
  // No mDNS from the packed gateway or the consumer's embedded one: this runs in the root network namespace.
  const userEnv = { PATH, HOME: home, OPENCLAW_STATE_DIR: join(home, ".openclaw"), OPENCLAW_DISABLE_BONJOUR: "1", ...noStripping }
  let packed: Array<string> = []
  let daemon: Daemon | undefined

  beforeAll(async () => {
    // `npm pack` from a copy of the sources (with this repo's node_modules), so that its build
    // (the prepare script) never rewrites this repo's dist/ under the other test files.
    const staging = join(work, "staging")
    const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { files: Array<string> }
    for (const entry of ["package.json", "tsconfig.json", "tsconfig.build.json", "rolldown.config.mjs", "src", ...pkg.files]) {
      if (entry !== "dist" && existsSync(join(repo, entry))) cpSync(join(repo, entry), join(staging, entry), { recursive: true })
    }
    symlinkSync(join(repo, "node_modules"), join(staging, "node_modules"))
    const pack = checked(await exec("npm", ["pack", "--json", "--pack-destination", work], staging, npmEnv()))
    assert.strictEqual(pack.code, 0, pack.stderr)
    const [info] = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as Array<{ filename: string; files: Array<{ path: string }> }>
    packed = info!.files.map((f) => f.path)

    mkdirSync(project)
    mkdirSync(home)
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "pack-consumer", private: true, type: "module" }))
    // From npm's cache when it has effect, @effect/platform-node and ws (it does after `npm ci`); else the
    // registry, failing within the test's time when neither has them.
    const install = checked(
      await exec(
        "npm",
        ["install", "--prefer-offline", "--fetch-retries=1", "--fetch-timeout=30000", join(work, info!.filename)],
        project,
        npmEnv()
      )
    )
    assert.strictEqual(install.code, 0, install.stderr)
  }, 180_000)

  afterAll(async () => {
    if (daemon !== undefined && daemon.child.exitCode === null) {
      daemon.child.kill("SIGKILL")
      await daemon.exited
    }
    rmSync(work, { recursive: true, force: true })
  })

  it("ships the built JavaScript, its declarations and the bin, and no TypeScript sources", () => {
    for (const f of ["dist/index.js", "dist/index.d.ts", "dist/gatehouse.mjs", "bin/gatehouse", "package.json", "ui/index.html", "ui/app.js"]) {
      assert.include(packed, f)
    }
    assert.deepStrictEqual(packed.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), [])
    assert.isFalse(existsSync(join(installed, "src")))
  })

  it("runs a gateway and `npx gatehouse health` against it", async () => {
    const port = await freePort()
    daemon = await startDaemon(["gateway", "run", "--port", String(port)], userEnv, /listening on ws:/, bin)
    const health = checked(await exec("npx", ["--no", "gatehouse", "health", "--timeout", "5000"], project, {
      ...userEnv,
      OPENCLAW_GATEWAY_PORT: String(port),
      npm_config_update_notifier: "false"
    }))
    assert.strictEqual(health.code, 0, health.stdout + health.stderr)
    assert.match(health.stdout, /^Gateway Health\nOK \(\d+ms\)/)
    // The installed bundle finds the Control UI's files in the package.
    const page = await fetch(`http://127.0.0.1:${port}/`)
    assert.strictEqual(page.status, 200)
    assert.include(await page.text(), "/ui/app.js")

    daemon.child.kill("SIGTERM") // by PID
    assert.strictEqual(await daemon.exited, 0, daemon.output())
    noTsRun(daemon.output())
    assert.include(daemon.output(), "gateway stopped")
  })

  it("imports the library, and each service, layer and protocol module by its subpath", async () => {
    const subpaths = ["services", "layers", "protocol"].flatMap((dir) =>
      listJs(join(installed, "dist", dir)).map((name) => `gatehouse/${dir}/${name}`)
    )
    assert.isAbove(subpaths.length, 3)
    writeFileSync(
      join(project, "consumer.mjs"),
      `import * as index from "gatehouse"
import { Gateway } from "gatehouse"
const subpaths = ${JSON.stringify(subpaths)}
const loaded = {}
for (const s of subpaths) {
  const m = await import(s)
  loaded[s] = Object.keys(m).length
  // one module instance, whichever way it is imported: the same service keys and layers
  for (const [k, v] of Object.entries(m)) if (k in index && index[k] !== v) throw new Error(s + " exports another " + k)
}
console.log(JSON.stringify({ gateway: typeof Gateway, layer: typeof Gateway.layer, index: Object.keys(index), loaded }))
`
    )
    const r = checked(await exec(process.execPath, ["consumer.mjs"], project, userEnv))
    assert.strictEqual(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as { gateway: string; layer: string; index: Array<string>; loaded: Record<string, number> }
    assert.strictEqual(out.gateway, "object")
    assert.notStrictEqual(out.layer, "undefined")
    assert.include(out.index, "Gateway")
    for (const s of subpaths) assert.isAbove(out.loaded[s] ?? 0, 0, `${s} exports nothing`)
  })

  it("gives a TypeScript consumer (NodeNext) the types of the package and of its subpaths", async () => {
    const subpaths = ["services", "layers", "protocol"].flatMap((dir) =>
      listJs(join(installed, "dist", dir)).map((name) => `gatehouse/${dir}/${name}`)
    )
    writeFileSync(
      join(project, "consumer.ts"),
      [
        `import { Gateway } from "gatehouse"`,
        ...subpaths.map((s, i) => `import * as M${i} from "${s}"`),
        `export const layer = Gateway.layer`,
        `export const modules: ReadonlyArray<object> = [${subpaths.map((_, i) => `M${i}`).join(", ")}]`,
        `// @ts-expect-error the types are real, not any: a wrong type is reported`,
        `export const wrong: number = Gateway.layer`
      ].join("\n")
    )
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ["consumer.ts"]
      })
    )
    const tsc = join(repo, "node_modules", "typescript", "bin", "tsc")
    const r = await exec(process.execPath, [tsc, "-p", project], project, { PATH })
    assert.strictEqual(r.code, 0, r.stdout + r.stderr)
  })
})
