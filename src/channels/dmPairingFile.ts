/**
 * DM pairing state on disk, one file per channel under the state dir, read and
 * written (atomically) on every use, so the daemon and `gatehouse pairing
 * approve` run in another process see each other's changes. A file that does not
 * decode is reported, never silently replaced.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
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

/** Applies `f` to the state in `path` and writes the result when it changed. */
export const modifyPairing = <A>(path: string, f: (s: PairingState) => readonly [A, PairingState]): Effect.Effect<A, Error> =>
  Effect.gen(function*() {
    const state = yield* readPairing(path)
    const [a, next] = f(state)
    if (next !== state) yield* writeFileAtomic(path, JSON.stringify(next, null, 2) + "\n")
    return a
  })
