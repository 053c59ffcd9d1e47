/**
 * Running pure pairing transitions on a StateBackend: each one sees its rows
 * pruned at the current time, gets fresh ids and tokens, and commits only when it
 * succeeds. Refusals and unavailable state come back as values the store layers
 * turn into their service's error.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { randomBytes, randomUUID } from "node:crypto"
import type { Fresh, Outcome, Refusal } from "./policy.ts"
import type { StateBackend, StateKeys, StateUnavailable } from "./stateBackend.ts"

/** The time now, and generators of request ids and 32-byte base64url tokens. */
export const freshValues: Effect.Effect<Fresh> = Effect.map(Clock.currentTimeMillis, (now) => ({
  now,
  id: () => randomUUID(),
  token: () => randomBytes(32).toString("base64url")
}))

/** A refused transition, as a failure. */
export class Refused {
  readonly _tag = "Refused"
  readonly refusal: Refusal
  constructor(refusal: Refusal) {
    this.refusal = refusal
  }
}

/** `read`, `modify` and `apply` over `backend`, pruning with `prune` first. */
export const transitions = <S>(backend: StateBackend<S>, prune: (s: S, now: number) => S) => {
  const read = (keys: StateKeys | "all"): Effect.Effect<S, StateUnavailable> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.map(backend.read(keys), (s) => prune(s, now)))
  // Decided on a read first: a transition that changes nothing (a paired device connecting, a
  // wrong setup code) never takes the backend's write lock; one that does runs again inside it,
  // unless the backend hands over the very state it read (a document nothing changed since):
  // then the first result stands (same state, same time), which halves the cost of a change.
  const modify = <A>(keys: StateKeys | "all", f: (s: S, fresh: Fresh) => readonly [A, S]) =>
    Effect.flatMap(freshValues, (fr) =>
      Effect.flatMap(backend.read(keys), (snapshot) => {
        const pruned = prune(snapshot, fr.now)
        const first = f(pruned, fr)
        return first[1] === pruned && pruned === snapshot
          ? Effect.succeed(first[0])
          : backend.transact(keys, (s) => (s === snapshot ? first : f(prune(s, fr.now), fr)))
      }))
  const apply = <A>(keys: StateKeys | "all", f: (s: S, fresh: Fresh) => Outcome<A, S>): Effect.Effect<A, StateUnavailable | Refused> =>
    Effect.flatMap(
      modify(keys, (s, fr): readonly [Outcome<A, S>, S] => {
        const r = f(s, fr)
        return [r, r.ok ? r.state : s]
      }),
      (r) => (r.ok ? Effect.succeed(r.value) : Effect.fail(new Refused(r.refusal)))
    )
  return { read, modify, apply }
}
