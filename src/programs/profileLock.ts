/**
 * One gateway per profile: a lock file under the state dir holds the running
 * gateway's PID. A second start fails naming that PID; a lock left by a dead
 * process (kill -9) is taken over.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { mkdir, open, readFile, rm } from "node:fs/promises"
import { join } from "node:path"
import { ConfigError } from "../config/errors.ts"

// `tls` tells this host's client commands to use wss:// even when TLS was turned on by `--tls` alone.
const LockRecord = Schema.Struct({ pid: Schema.Int, port: Schema.Int, startedAtMs: Schema.Number, tls: Schema.optionalKey(Schema.Boolean) })
const decodeLock = Schema.decodeUnknownResult(Schema.fromJsonString(LockRecord))

/** Path of the lock file of a state dir. */
export const lockPath = (stateDir: string) => join(stateDir, "gateway.lock")

/** Reads the PID and port of the gateway holding a state dir, if one is alive. */
export const readLiveLock = (stateDir: string): Effect.Effect<{ pid: number; port: number; tls: boolean } | undefined> =>
  Effect.promise(() => readFile(lockPath(stateDir), "utf8").catch(() => undefined)).pipe(
    Effect.map((text) => {
      if (text === undefined) return undefined
      const record = decodeLock(text)
      if (Result.isFailure(record) || !isAlive(record.success.pid)) return undefined
      return { pid: record.success.pid, port: record.success.port, tls: record.success.tls === true }
    })
  )

/** Holds the profile lock for the scope's lifetime. */
export const acquireProfileLock = (stateDir: string, port: number, startedAtMs: number, tls = false) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const path = lockPath(stateDir)
      yield* Effect.promise(() => mkdir(stateDir, { recursive: true, mode: 0o700 }))
      for (let attempt = 0; attempt < 3; attempt++) {
        const created = yield* Effect.promise(() =>
          open(path, "wx", 0o600).then(
            async (handle) => {
              await handle.writeFile(JSON.stringify({ pid: process.pid, port, startedAtMs, ...(tls ? { tls } : {}) }) + "\n")
              await handle.sync()
              await handle.close()
              return true
            },
            (e: NodeJS.ErrnoException) => {
              if (e.code === "EEXIST") return false
              throw e
            }
          )
        )
        if (created) return path
        const holder = yield* readLiveLock(stateDir)
        if (holder !== undefined) {
          return yield* new ConfigError({
            reason: "refused",
            message: `gateway already running for this profile (pid ${holder.pid}, port ${holder.port}, state dir ${stateDir}); ` +
              `stop it with \`kill ${holder.pid}\`, or start another profile with --profile <name>`
          })
        }
        yield* Effect.promise(() => rm(path, { force: true }))
      }
      return yield* new ConfigError({ reason: "refused", message: `cannot take the gateway lock ${path}; remove it if no gateway is running` })
    }),
    (path) => Effect.promise(() => rm(path, { force: true }))
  )

const isAlive = (pid: number): boolean => {
  const probe = Result.try(() => process.kill(pid, 0))
  return Result.isSuccess(probe) || (probe.failure as NodeJS.ErrnoException).code === "EPERM"
}
