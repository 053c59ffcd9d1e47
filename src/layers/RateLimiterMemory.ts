/**
 * The in-memory RateLimiter: failures per canonical client key in a sliding
 * window, then a lockout (remote keys) or a growing delay (the one loopback key
 * for all of 127.0.0.0/8 and ::1). Keys are capped; idle ones are dropped first
 * and a flood of fresh addresses never lifts a lockout.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { isIP } from "node:net"
import { emptyKey, type FailurePolicy, isIdle, type KeyState, recordFailure, retryAfter, verdict } from "../auth/failureWindow.ts"
import { canonicalIp, isLoopbackIp } from "../net/ip.ts"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { RateLimiter } from "../services/RateLimiter.ts"

/** Keys kept at most; idle ones are dropped first. */
const MAX_KEYS = 10_000

/** An in-memory limiter with the given policy (a function: read per decision, so a config reload applies). */
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
    return RateLimiter.of({
      check: (address) =>
        Effect.gen(function*() {
          refresh()
          const key = limitKey(address)
          const v = verdict(keys.get(key) ?? emptyKey, yield* Clock.currentTimeMillis, policy, key === LOOPBACK_KEY)
          if (v._tag === "Refuse") yield* Effect.logWarning(`auth refused: ${key} is locked out for ${Math.ceil(v.retryAfterMs / 1000)}s after repeated failures`)
          if (v._tag === "Delay") yield* Effect.logWarning(`auth delayed: ${key} waits ${v.ms} ms after repeated failures (loopback is delayed, never locked out)`)
          return v
        }),
      fail: (address, reason) =>
        Effect.gen(function*() {
          refresh()
          const key = limitKey(address)
          const now = yield* Clock.currentTimeMillis
          prune(now)
          const next = recordFailure(keys.get(key) ?? emptyKey, now, policy, key === LOOPBACK_KEY)
          keys.set(key, next)
          yield* next.lockedUntil !== undefined && next.failures.length === 0 && retryAfter(next, now) === policy.lockoutMs
            ? Effect.logWarning(`auth lockout: ${key} locked for ${policy.lockoutMs / 1000}s after ${policy.maxFailures} failures (last: ${reason})`)
            : Effect.logInfo(`auth failure from ${key}: ${reason}`)
        }),
      succeed: (address) => Effect.sync(() => void keys.delete(limitKey(address)))
    })
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
export const LOOPBACK_KEY = "loopback"

/**
 * The key a client's failures are counted under: an IPv6 client owns at least a
 * /64, so it is counted as one; IPv4 per address; loopback is one client.
 * Shared by every limiter layer, so they count the same clients the same way.
 */
export const limitKey = (address: string): string => {
  if (isLoopbackIp(address)) return LOOPBACK_KEY
  const ip = canonicalIp(address)
  if (isIP(ip) !== 6) return ip
  const [head, tail] = ip.split("::")
  const left = head === "" || head === undefined ? [] : head.split(":")
  const right = tail === undefined || tail === "" ? [] : tail.split(":")
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`
}
