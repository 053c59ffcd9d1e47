/**
 * The in-memory RateLimiter: failures per canonical client key and credential
 * kind in a sliding window, then a lockout (remote keys) or a growing delay (the one loopback key
 * for all of 127.0.0.0/8 and ::1). Keys are capped; idle ones are dropped first
 * and a flood of fresh addresses never lifts a lockout.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type CredentialKind, DEFAULT_KIND } from "../auth/credentialKind.ts"
import { emptyKey, type FailurePolicy, type Verdict, isIdle, type KeyState, recordFailure, retryAfter, verdict } from "../auth/failureWindow.ts"
import { clientKey, LOOPBACK_CLIENT } from "../net/clientKey.ts"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { RateLimiter } from "../services/RateLimiter.ts"

/** Keys kept at most (one per client and credential kind); idle ones are dropped first. */
const MAX_KEYS = 10_000

/**
 * An in-memory limiter with the given policy (a function: read per decision, so a config
 * reload applies); `size` tells how many keys it holds (tests).
 */
export const make = (policyOf: FailurePolicy | (() => FailurePolicy)) =>
  Effect.sync(() => {
    const keys = new Map<string, KeyState>()
    let policy = typeof policyOf === "function" ? policyOf() : policyOf
    const refresh = () => {
      if (typeof policyOf === "function") policy = policyOf()
    }
    const prune = (now: number) => {
      if (keys.size < MAX_KEYS) return
      for (const [k, s] of keys) if (isIdle(s, now, policy)) keys.delete(k)
      for (const [k, s] of keys) {
        if (keys.size < MAX_KEYS) break
        if (retryAfter(s, now) === 0) keys.delete(k)
      }
    }
    const shape = RateLimiter.of({
      // Checked several times per handshake: a plain continuation, with an effect for the log only when there is one.
      check: (address, kind = DEFAULT_KIND) =>
        Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<Verdict> => {
          refresh()
          const key = bucketKey(address, kind)
          const v = verdict(keys.get(key) ?? emptyKey, now, policy, isLoopbackBucket(key))
          if (v._tag === "Refuse") return Effect.as(Effect.logWarning(`auth refused: ${key} is locked out for ${Math.ceil(v.retryAfterMs / 1000)}s after repeated failures`), v)
          if (v._tag === "Delay") return Effect.as(Effect.logWarning(`auth delayed: ${key} waits ${v.ms} ms after repeated failures (loopback is delayed, never locked out)`), v)
          return Effect.succeed(v)
        }),
      fail: (address, reason, kind = DEFAULT_KIND) =>
        Effect.gen(function*() {
          refresh()
          const key = bucketKey(address, kind)
          const now = yield* Clock.currentTimeMillis
          prune(now)
          const next = recordFailure(keys.get(key) ?? emptyKey, now, policy, isLoopbackBucket(key))
          keys.set(key, next)
          yield* next.lockedUntil !== undefined && next.failures.length === 0 && retryAfter(next, now) === policy.lockoutMs
            ? Effect.logWarning(`auth lockout: ${key} locked for ${policy.lockoutMs / 1000}s after ${policy.maxFailures} failures (last: ${reason})`)
            : Effect.logInfo(`auth failure from ${key}: ${reason}`)
        }),
      succeed: (address, kind = DEFAULT_KIND) => Effect.sync(() => void keys.delete(bucketKey(address, kind)))
    })
    return Object.assign(shape, { size: () => keys.size })
  })

/** A limiter with a fixed policy, whatever the config says (tests, embedders). */
export const layerWith = (policy: FailurePolicy) => Layer.effect(RateLimiter, make(policy))

/** The limiter configured by `gateway.auth.rateLimit` (defaults: 10 failures per 60 s, 5 min lockout). */
export const layer = Layer.effect(
  RateLimiter,
  Effect.gen(function*() {
    const { live } = yield* GatewayConfig
    return yield* make(() => SubscriptionRef.getUnsafe(live).config.authRateLimit)
  })
)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

/** The one key of every loopback address. */
export const LOOPBACK_KEY = LOOPBACK_CLIENT

/** The key a client's failures are counted under (see `net/clientKey.ts`); shared by every limiter layer. */
export const limitKey = clientKey

/**
 * The count a failure goes to: the client's key, plus the credential kind unless it is the
 * shared secret (so a shared-secret key reads the same as before kinds were counted apart).
 */
export const bucketKey = (address: string, kind: CredentialKind = DEFAULT_KIND): string => {
  const client = limitKey(address)
  return kind === DEFAULT_KIND ? client : `${client}|${kind}`
}

/** Whether a bucket belongs to the loopback client (delayed, never locked out). */
export const isLoopbackBucket = (key: string): boolean => key === LOOPBACK_KEY || key.startsWith(`${LOOPBACK_KEY}|`)
