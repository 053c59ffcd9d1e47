/**
 * A JSON document kept in memory and persisted atomically on every change.
 * Changes are serialized; a change is visible only once it is on disk. A file
 * that does not decode is moved aside and reported, never overwritten.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import { readFile, rename } from "node:fs/promises"
import { writeFileAtomic } from "./atomicWrite.ts"

export interface JsonStore<S> {
  /** The current document. */
  readonly get: Effect.Effect<S>
  /** Applies `f` and persists the result before returning `f`'s answer. */
  readonly modify: <A>(f: (s: S) => readonly [A, S]) => Effect.Effect<A, Error>
}

/** An in-memory store (tests, ephemeral gateways). */
export const makeMemoryStore = <S>(initial: S): Effect.Effect<JsonStore<S>> =>
  Effect.gen(function*() {
    let state = initial
    const lock = yield* Semaphore.make(1)
    return {
      get: Effect.sync(() => state),
      modify: <A>(f: (s: S) => readonly [A, S]) =>
        lock.withPermits(1)(Effect.sync(() => {
          const [a, next] = f(state)
          state = next
          return a
        }))
    }
  })

/** A store backed by the file at `path`, decoded with `schema`. */
export const makeFileStore = <S>(
  path: string,
  schema: Schema.Codec<S, unknown>,
  empty: S
): Effect.Effect<JsonStore<S>, Error> =>
  Effect.gen(function*() {
    const decode = Schema.decodeUnknownResult(Schema.fromJsonString(schema))
    const encode = Schema.encodeSync(schema)
    const text = yield* Effect.tryPromise({ try: () => readFile(path, "utf8"), catch: (e) => e as NodeJS.ErrnoException }).pipe(
      Effect.map((t): string | undefined => t),
      Effect.catch((e) => (e.code === "ENOENT" ? Effect.succeed(undefined) : Effect.fail(new Error(`cannot read ${path}: ${e.message}`))))
    )
    let state = empty
    if (text !== undefined) {
      const decoded = decode(text)
      if (Result.isSuccess(decoded)) state = decoded.success
      else {
        const aside = `${path}.corrupt-${yield* Clock.currentTimeMillis}`
        yield* Effect.tryPromise({ try: () => rename(path, aside), catch: (e) => e as Error })
        yield* Effect.logError(
          `${path} could not be read (${decoded.failure.message.split("\n")[0]}); moved it to ${aside} and started empty. ` +
            `Inspect it, and move it back once fixed while the gateway is stopped.`
        )
      }
    }
    const lock = yield* Semaphore.make(1)
    return {
      get: Effect.sync(() => state),
      modify: <A>(f: (s: S) => readonly [A, S]) =>
        lock.withPermits(1)(Effect.gen(function*() {
          const [a, next] = f(state)
          if (next !== state) {
            yield* writeFileAtomic(path, JSON.stringify(encode(next), null, 2) + "\n")
            state = next
          }
          return a
        }))
    }
  })
