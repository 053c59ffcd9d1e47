/**
 * A throwaway PostgreSQL server for tests: initdb into a temp dir, listen only on
 * 127.0.0.1 (TCP, password auth) and a unix socket in that dir (trust, for admin
 * commands), one fresh database per store under test. The server is our own child
 * process: ready when it says so, stopped by its PID (SIGINT, fast shutdown) and its
 * dir removed when the layer's scope closes. It runs as the `postgres` system user
 * when the tests run as root, because initdb and postgres refuse to run as root.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "./processes.ts"

/**
 * The directory holding initdb, postgres and createdb, or undefined when PostgreSQL
 * is not installed. `PG_BIN` picks one explicitly (and only that one).
 */
export const postgresBinDir = (): string | undefined => {
  const candidates = process.env.PG_BIN !== undefined
    ? [process.env.PG_BIN]
    // Debian/Ubuntu keep the server binaries out of PATH, one dir per major version; take the newest.
    : existsSync("/usr/lib/postgresql")
    ? readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`)
    : []
  return candidates.find((dir) => ["initdb", "postgres", "createdb"].every((b) => existsSync(join(dir, b))))
}

/** Why a throwaway PostgreSQL cannot be started here, or undefined when it can. */
export const postgresUnavailable = (): string | undefined => {
  if (postgresBinDir() === undefined) {
    return "PostgreSQL server binaries (initdb, postgres) not found; install them with `apt-get install -y postgresql` (or set PG_BIN)"
  }
  if (process.getuid?.() === 0 && postgresUser() === undefined) {
    return "running as root, but there is no `postgres` system user to run the server as (the Debian package creates it)"
  }
  return undefined
}

/**
 * Whether PostgreSQL tests can run: under CI a missing server is a failure (thrown
 * at collection, so the file fails), elsewhere the tests are skipped with the reason printed.
 */
export const postgresAvailable = (what: string): boolean => {
  const why = postgresUnavailable()
  if (why === undefined) return true
  if (process.env.CI === "true") throw new Error(`${what} must run under CI: ${why}`)
  console.log(`skipping ${what}: ${why}`)
  return false
}

export interface TestPostgresShape {
  /** The TCP port the server listens on (127.0.0.1). */
  readonly port: number
  /** The password of the `postgres` role over TCP (tests check it never leaks). */
  readonly password: string
  /** A new empty database, as a URL with credentials. */
  readonly freshDatabase: Effect.Effect<Redacted.Redacted<string>>
  /** The URL of database `name` (with the given password, the right one by default). */
  readonly url: (name: string, password?: string) => Redacted.Redacted<string>
}

/** A running throwaway PostgreSQL server. */
export class TestPostgres extends Context.Service<TestPostgres, TestPostgresShape>()("test/TestPostgres") {
  /** Starts the server when the layer is built; stops it and removes its dir when the scope closes. */
  static readonly layer: Layer.Layer<TestPostgres> = Layer.effect(
    TestPostgres,
    Effect.map(Effect.acquireRelease(Effect.promise(start), (s) => Effect.promise(() => s.stop())), (s) => TestPostgres.of(s.service))
  )
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

interface Started {
  readonly service: TestPostgresShape
  readonly stop: () => Promise<void>
}

const postgresUser = (): Owner | undefined => {
  const uid = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" })
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" })
  return uid.status === 0 && gid.status === 0 ? { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) } : undefined
}

// Runs as `postgres` when we are root (initdb and postgres refuse root); otherwise as ourselves.
const asOwner = (owner: Owner | undefined) => (owner === undefined ? {} : { uid: owner.uid, gid: owner.gid })

interface Owner {
  readonly uid: number
  readonly gid: number
}

const run = (argv: ReadonlyArray<string>, owner: Owner | undefined): Promise<string> =>
  new Promise((resolve, reject) => {
    const [bin, ...args] = argv
    execFile(bin!, args, { encoding: "utf8", timeout: 60_000, cwd: "/", env: SERVER_ENV, ...asOwner(owner) }, (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`${argv.join(" ")} failed: ${error.message}\n${stderr}`)))
  })

// A plain C locale and no PG* variables from the caller's environment.
const SERVER_ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", LANG: "C" }

/**
 * Starts `postgres` as our own child (so its PID is ours to stop and to reap) and
 * resolves once it logs that it accepts connections; rejects if it exits first.
 */
const serve = (bin: string, data: string, dir: string, port: number, owner: Owner | undefined) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(join(bin, "postgres"), [
      "-D", data, "-p", String(port), "-k", dir,
      "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"
    ], { cwd: "/", env: SERVER_ENV, stdio: ["ignore", "ignore", "pipe"], ...asOwner(owner) })
    let log = ""
    const onData = (chunk: Buffer) => {
      log += chunk
      if (/database system is ready to accept connections/.test(log)) {
        child.stderr!.off("data", onData)
        child.stderr!.resume()
        resolve(child)
      }
    }
    child.stderr!.on("data", onData)
    child.once("error", reject)
    child.once("exit", (code, signal) => reject(new Error(`postgres exited (${code ?? signal}) before accepting connections:\n${log}`)))
  })

let databases = 0

async function start(): Promise<Started> {
  const bin = postgresBinDir()!
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-pg-"))
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid)
  const data = join(dir, "data")
  const password = randomBytes(12).toString("hex")
  const pwfile = join(dir, "pw")
  writeFileSync(pwfile, password + "\n")
  if (owner !== undefined) chownSync(pwfile, owner.uid, owner.gid)
  let server: ChildProcess | undefined
  // Safety net: a test process that exits without running finalizers must not leave a server behind.
  const onExit = () => {
    server?.kill("SIGQUIT")
    rmSync(dir, { recursive: true, force: true })
  }
  process.once("exit", onExit)
  const stop = async () => {
    process.removeListener("exit", onExit)
    const running = server
    if (running !== undefined && running.exitCode === null && running.signalCode === null) {
      const exited = new Promise((r) => running.once("exit", r))
      running.kill("SIGINT") // "fast" shutdown: roll back open transactions, close connections, exit
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await run([
      join(bin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", pwfile, "-E", "UTF8", "--locale=C", "--no-sync",
      "--auth-local=trust", "--auth-host=scram-sha-256"
    ], owner)
    // A free port can be taken between probing and binding; try a few.
    let port = 0
    for (let attempt = 0; server === undefined; attempt++) {
      port = await freePort()
      server = await serve(bin, data, dir, port, owner).catch((e: Error) => {
        if (attempt >= 2) throw e
        return undefined
      })
    }
    const url = (name: string, pw = password) => Redacted.make(`postgres://postgres:${pw}@127.0.0.1:${port}/${name}`)
    const freshDatabase = Effect.promise(async () => {
      const name = `gatehouse_test_${process.pid}_${++databases}`
      await run([join(bin, "createdb"), "-h", dir, "-p", String(port), "-U", "postgres", name], owner)
      return url(name)
    })
    return { service: { port, password, freshDatabase, url }, stop }
  } catch (e) {
    await stop()
    throw e
  }
}
