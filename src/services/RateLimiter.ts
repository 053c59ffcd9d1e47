/**
 * RateLimiter: every credential check passes through it. Before any credential is
 * looked at, the client's key gets a verdict: allowed, delayed (the loopback key,
 * which is never locked out) or refused (a locked-out remote key). Each wrong
 * credential counts against the client's canonical address and the credential's
 * kind (shared secret, device token, setup code, device signature, Tailscale); a
 * success clears that kind's count. Every decision is logged with its reason.
 *
 * Layers: `RateLimiterMemory` (the embedded default, one process). An embedder can
 * plug in its own policy by providing another layer.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { CredentialKind } from "../auth/credentialKind.ts"
import type { Verdict } from "../auth/failureWindow.ts"

export type { Verdict } from "../auth/failureWindow.ts"
export type { CredentialKind } from "../auth/credentialKind.ts"

/** The limiter's own state could not be reached (e.g. a shared store is down). */
export class RateLimiterUnavailable extends Schema.TaggedClass<RateLimiterUnavailable>()("RateLimiterUnavailable", {
  message: Schema.String
}) {}

export class RateLimiterError extends Schema.TaggedError<RateLimiterError>()("RateLimiterError", {
  reason: Schema.Union([RateLimiterUnavailable])
}) {}

export interface RateLimiterShape {
  /** What `address`'s next check of a `kind` credential gets (default: the shared secret): go ahead, wait first, or be refused. */
  readonly check: (address: string, kind?: CredentialKind) => Effect.Effect<Verdict, RateLimiterError>
  /** Counts a failed `kind` credential from `address`; `reason` says which check failed. */
  readonly fail: (address: string, reason: string, kind?: CredentialKind) => Effect.Effect<void, RateLimiterError>
  /** A `kind` credential from `address` was right: that count starts again. */
  readonly succeed: (address: string, kind?: CredentialKind) => Effect.Effect<void, RateLimiterError>
}

export class RateLimiter extends Context.Service<RateLimiter, RateLimiterShape>()("gatehouse/services/RateLimiter") {}
