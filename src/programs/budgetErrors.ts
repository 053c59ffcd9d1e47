/**
 * The wire errors of full budgets: which budget, its limit, and what to do. Each
 * is UNAVAILABLE with a `details.code` clients can match on, so a full budget is
 * never mistaken for a bad request.
 */
import type { SessionClaim } from "../connections/sessionBudget.ts"
import type { MethodClass, Take } from "../connections/methodBudget.ts"
import { ErrorCode, GatewayError } from "../protocol/errors.ts"

/** A connect refused because the client or the device already holds its share of sockets. */
export const connectionLimitError = (refusal: Extract<SessionClaim, { _tag: "Refused" }>) =>
  new GatewayError({
    code: ErrorCode.unavailable,
    message: refusal.budget === "address"
      ? `too many connections from this address (at most ${refusal.limit}); close some, or raise gateway.limits.maxConnectionsPerAddress`
      : `too many connections for this device (at most ${refusal.limit}); close its other sessions, or raise gateway.limits.maxConnectionsPerDevice`,
    details: { code: "CONNECTION_LIMIT", budget: refusal.budget, limit: refusal.limit },
    retryable: true
  })

/** A request refused because its connection called methods of this class too fast. */
export const rateLimitedError = (method: string, cls: MethodClass, take: Extract<Take, { ok: false }>) =>
  new GatewayError({
    code: ErrorCode.unavailable,
    message: `too many ${method} requests on this connection (${take.limit.burst} at once, then ${take.limit.perSecond}/s for ${cls} methods); ` +
      `retry in ${take.retryAfterMs} ms`,
    details: { code: "RATE_LIMITED", methodClass: cls, burst: take.limit.burst, perSecond: take.limit.perSecond },
    retryable: true,
    retryAfterMs: take.retryAfterMs
  })

/** Close reason of a refused connect (under the spec's 123 bytes). */
export const CONNECTION_LIMIT_REASON = "CONNECTION_LIMIT: too many connections; see gateway.limits"

/** A request refused because its connection already has as many requests unanswered as it may. */
export const busyError = (limit: number, maxBytes: number) =>
  new GatewayError({
    code: ErrorCode.unavailable,
    message: `too much unanswered on this connection (at most ${limit} requests, ${Math.round(maxBytes / 1048576)} MiB of frames); ` +
      "wait for answers before sending more, or raise gateway.limits.maxInFlightBytesPerConnection",
    details: { code: "IN_FLIGHT_LIMIT", limit, maxBytes },
    retryable: true
  })
