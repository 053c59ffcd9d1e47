/**
 * Running pure pairing transitions against a JsonStore: each one sees the state
 * pruned at the current time, gets fresh ids and tokens, commits only when it
 * succeeds, and turns a refusal or a failed save into the wire error.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { randomBytes, randomUUID } from "node:crypto"
import type { JsonStore } from "../fs/jsonStore.ts"
import { ErrorCode, GatewayError } from "../protocol/errors.ts"
import type { Fresh, Outcome } from "./policy.ts"

/** The time now, and generators of request ids and 32-byte base64url tokens. */
export const freshValues: Effect.Effect<Fresh> = Effect.map(Clock.currentTimeMillis, (now) => ({
  now,
  id: () => randomUUID(),
  token: () => randomBytes(32).toString("base64url")
}))

/** `modify` and `apply` over `store`, pruning with `prune` first; `what` names the state in save errors. */
export const transitions = <S>(store: JsonStore<S>, prune: (s: S, now: number) => S, what: string) => {
  const modify = <A>(f: (s: S, fresh: Fresh) => readonly [A, S]) =>
    Effect.flatMap(freshValues, (fr) => store.modify((s) => f(prune(s, fr.now), fr))).pipe(
      Effect.mapError((e) => new GatewayError({ code: ErrorCode.unavailable, message: `${what} could not be saved: ${e.message}`, retryable: true }))
    )
  const apply = <A>(f: (s: S, fresh: Fresh) => Outcome<A, S>) =>
    Effect.flatMap(
      modify((s, fr): readonly [Outcome<A, S>, S] => {
        const r = f(s, fr)
        return [r, r.ok ? r.state : s]
      }),
      (r) =>
        r.ok
          ? Effect.succeed(r.value)
          : Effect.fail(new GatewayError({ code: ErrorCode.invalidRequest, message: r.refusal.message, details: { code: r.refusal.code } }))
    )
  return { modify, apply }
}
