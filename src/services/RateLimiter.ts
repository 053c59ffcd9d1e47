/**
 * RateLimiter: every credential check passes through it. Before any credential is
 * looked at, a locked-out client is refused; each failed credential counts
 * against the client's canonical address. Every decision is logged with its reason.
 *
 * Layers: `RateLimiterMemory` (the embedded default, one process). An embedder can
 * plug in its own policy by providing another layer.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** The limiter's own state could not be reached (e.g. a shared store is down). */
export class RateLimiterUnavailable extends Schema.TaggedClass<RateLimiterUnavailable>()("RateLimiterUnavailable", {
  message: Schema.String
}) {}

export class RateLimiterError extends Schema.TaggedError<RateLimiterError>()("RateLimiterError", {
  reason: Schema.Union([RateLimiterUnavailable])
}) {}

export interface RateLimiterShape {
  /** Milliseconds `address` must wait before its next credential check, or 0. */
  readonly check: (address: string) => Effect.Effect<number, RateLimiterError>
  /** Counts a failed credential from `address`; `reason` says which check failed. */
  readonly fail: (address: string, reason: string) => Effect.Effect<void, RateLimiterError>
}

export class RateLimiter extends Context.Service<RateLimiter, RateLimiterShape>()("gatehouse/services/RateLimiter") {}
