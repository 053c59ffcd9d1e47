/**
 * DM pairing state on disk, one file per channel under the state dir, read and
 * written (atomically) on every use, so the daemon and `gatehouse pairing
 * approve` run in another process see each other's changes. A change holds a
 * lock file (`<file>.lock`, created exclusively; one older than 10 s is taken as
 * left by a crash), so two processes never lose each other's change. A file that
 * does not decode is reported, never silently replaced.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { mkdir, open, readFile, rm, stat } from "node:fs/promises"
import { dirname, join } from "node:path"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { emptyPairing, type PairingState } from "./dmPairing.ts"

const PairingFile = Schema.fromJsonString(Schema.Struct({
  pending: Schema.Array(Schema.Struct({ code: Schema.String, userId: Schema.String, chatId: Schema.String, createdAt: Schema.Number })),
  approved: Schema.Array(Schema.String)
}))
const decode = Schema.decodeUnknownResult(PairingFile)

/** Where `channel`'s pairing state lives. */
export const pairingPath = (stateDir: string, channel: string) => join(stateDir, "channels", `${channel}-pairing.json`)

/** The state in `path` (empty when there is no file). */
export const readPairing = (path: string): Effect.Effect<PairingState, Error> =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({ try: () => readFile(path, "utf8"), catch: (e) => e as NodeJS.ErrnoException }).pipe(
      Effect.map((t): string | undefined => t),
      Effect.catch((e) => e.code === "ENOENT" ? Effect.succeed(undefined) : Effect.fail(new Error(`cannot read ${path}: ${e.message}`)))
    )
    if (text === undefined) return emptyPairing
    const decoded = decode(text)
    if (Result.isFailure(decoded)) {
      return yield* Effect.fail(new Error(`${path} is not a pairing file (${decoded.failure.message.split("\n")[0]}); fix or remove it`))
    }
    return decoded.success
  })

/** A lock older than this was left by a process that died holding it. */
export const STALE_LOCK_MS = 10_000
const LOCK_ATTEMPTS = 100
const LOCK_RETRY_MS = 20

/** Applies `f` to the state in `path` and writes the result when it changed, holding the lock. */
export const modifyPairing = <A>(path: string, f: (s: PairingState) => readonly [A, PairingState]): Effect.Effect<A, Error> =>
  Effect.acquireUseRelease(
    lock(`${path}.lock`),
    () =>
      Effect.gen(function*() {
        const state = yield* readPairing(path)
        const [a, next] = f(state)
        if (next !== state) yield* writeFileAtomic(path, JSON.stringify(next, null, 2) + "\n")
        return a
      }),
    (lockPath) => Effect.promise(() => rm(lockPath, { force: true }))
  )

// Creates the lock file exclusively, waiting while another process holds it.
const lock = (lockPath: string): Effect.Effect<string, Error> =>
  Effect.gen(function*() {
    yield* Effect.tryPromise({ try: () => mkdir(dirname(lockPath), { recursive: true, mode: 0o700 }), catch: (e) => e as Error })
    for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
      const got = yield* Effect.tryPromise({
        try: async () => {
          await (await open(lockPath, "wx", 0o600)).close()
          return true
        },
        catch: (e) => e as NodeJS.ErrnoException
      }).pipe(Effect.catch((e) => e.code === "EEXIST" ? Effect.succeed(false) : Effect.fail(new Error(`cannot lock ${lockPath}: ${e.message}`))))
      if (got) return lockPath
      const now = yield* Clock.currentTimeMillis
      const age = yield* Effect.promise(() => stat(lockPath).then((s) => now - s.mtimeMs, () => 0))
      if (age > STALE_LOCK_MS) yield* Effect.promise(() => rm(lockPath, { force: true }))
      else yield* Effect.sleep(LOCK_RETRY_MS)
    }
    return yield* Effect.fail(new Error(`${lockPath} is held by another process; if none is running, remove it`))
  })
