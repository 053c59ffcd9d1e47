/**
 * A throwaway Redis server for tests: Debian's `redis-server` on 127.0.0.1 and a
 * free port, with a password, nothing saved to disk, its working dir a temp dir.
 * It is our own child: ready when it says so, stopped by its PID (SIGTERM) and
 * its dir removed when the layer's scope closes. `stop` ends it early (tests of a
 * Redis that goes away), `start` brings it back on the same port.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "./processes.ts"

/** Why a throwaway Redis cannot be started here, or undefined when it can. */
export const redisUnavailable = (): string | undefined =>
  spawnSync("redis-server", ["--version"], { encoding: "utf8" }).status === 0
    ? undefined
    : "redis-server not found; install it with `apt-get install -y redis-server`"

/** Whether Redis tests can run: under CI a missing server fails the file, elsewhere the tests are skipped with the reason printed. */
export const redisAvailable = (what: string): boolean => {
  const why = redisUnavailable()
  if (why === undefined) return true
  if (process.env.CI === "true") throw new Error(`${what} must run under CI: ${why}`)
  console.log(`skipping ${what}: ${why}`)
  return false
}

export interface TestRedisShape {
  readonly port: number
  /** The server's password (tests check it never leaks). */
  readonly password: string
  /** The URL with the password (the right one by default). */
  readonly url: (password?: string) => Redacted.Redacted<string>
  /** Stops the server (SIGTERM to its PID) and waits for it to exit. */
  readonly stop: Effect.Effect<void>
  /** Starts it again on the same port. */
  readonly start: Effect.Effect<void>
}

export class TestRedis extends Context.Service<TestRedis, TestRedisShape>()("test/TestRedis") {
  static readonly layer: Layer.Layer<TestRedis> = Layer.effect(
    TestRedis,
    Effect.map(Effect.acquireRelease(Effect.promise(startRedis), (s) => Effect.promise(() => s.dispose())), (s) => TestRedis.of(s.service))
  )
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const serve = (dir: string, port: number, password: string) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn("redis-server", [
      "--bind", "127.0.0.1", "--port", String(port), "--requirepass", password, "--save", "", "--appendonly", "no",
      "--dir", dir, "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "notice"
    ], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } })
    let log = ""
    const onData = (chunk: Buffer) => {
      log += chunk
      if (/Ready to accept connections/.test(log)) {
        child.stdout!.off("data", onData)
        child.stdout!.resume()
        child.stderr!.resume()
        resolve(child)
      }
    }
    child.stdout!.on("data", onData)
    child.once("error", reject)
    child.once("exit", (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}) before accepting connections:\n${log}`)))
  })

const stopChild = async (child: ChildProcess | undefined) => {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once("exit", r))
  child.kill("SIGTERM")
  await exited
}

async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-redis-"))
  const password = randomBytes(12).toString("hex")
  let server: ChildProcess | undefined
  let port = 0
  const onExit = () => {
    server?.kill("SIGKILL")
    rmSync(dir, { recursive: true, force: true })
  }
  process.once("exit", onExit)
  // A free port can be taken between probing and binding; try a few.
  for (let attempt = 0; server === undefined; attempt++) {
    port = await freePort()
    server = await serve(dir, port, password).catch((e: Error) => {
      if (attempt >= 2) throw e
      return undefined
    })
  }
  const service: TestRedisShape = {
    port,
    password,
    url: (pw = password) => Redacted.make(`redis://:${pw}@127.0.0.1:${port}/0`),
    stop: Effect.promise(() => stopChild(server)),
    start: Effect.promise(async () => {
      server = await serve(dir, port, password)
    })
  }
  return {
    service,
    dispose: async () => {
      process.removeListener("exit", onExit)
      await stopChild(server)
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
