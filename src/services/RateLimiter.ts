/**
 * RateLimiter: every credential check passes through it. Before any credential
 * is looked at, a locked-out address is refused; each failed credential (shared
 * secret, device token, setup code, device signature) counts against the
 * client's canonical address. Every decision is logged with its reason.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { emptyKey, type FailurePolicy, isIdle, type KeyState, recordFailure, retryAfter } from "../auth/failureWindow.ts"
import { canonicalIp } from "../net/ip.ts"
import { isIP } from "node:net"
import { GatewayConfig } from "./GatewayConfig.ts"

export interface RateLimiterShape {
  /** Milliseconds `address` must wait before its next credential check, or 0. */
  readonly check: (address: string) => Effect.Effect<number>
  /** Counts a failed credential from `address`. */
  readonly fail: (address: string, reason: string) => Effect.Effect<void>
}

/** Keys kept at most; idle ones are dropped first. */
const MAX_KEYS = 10_000

export class RateLimiter extends Context.Service<RateLimiter, RateLimiterShape>()("gatehouse/services/RateLimiter") {
  /** An in-memory limiter with the given policy. */
  static readonly make = (policy: FailurePolicy) =>
    Effect.sync(() => {
      const keys = new Map<string, KeyState>()
      // Idle keys go first, then the oldest ones that are not locked: a flood of
      // fresh addresses must never lift a lockout.
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
            const key = limitKey(address)
            const wait = retryAfter(keys.get(key) ?? emptyKey, yield* Clock.currentTimeMillis)
            if (wait > 0) yield* Effect.logWarning(`auth refused: ${key} is locked out for ${Math.ceil(wait / 1000)}s after repeated failures`)
            return wait
          }),
        fail: (address, reason) =>
          Effect.gen(function*() {
            const key = limitKey(address)
            const now = yield* Clock.currentTimeMillis
            prune(now)
            const next = recordFailure(keys.get(key) ?? emptyKey, now, policy)
            keys.set(key, next)
            yield* next.lockedUntil !== undefined && next.failures.length === 0 && retryAfter(next, now) === policy.lockoutMs
              ? Effect.logWarning(`auth lockout: ${key} locked for ${policy.lockoutMs / 1000}s after ${policy.maxFailures} failures (last: ${reason})`)
              : Effect.logInfo(`auth failure from ${key}: ${reason}`)
          })
      })
    })

  /** The limiter configured by `gateway.auth.rateLimit` (defaults: 10 failures per 60 s, 5 min lockout). */
  static readonly layer = Layer.effect(
    RateLimiter,
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig
      return yield* RateLimiter.make(config.authRateLimit)
    })
  )
}

// An IPv6 client owns at least a /64, so it is counted as one; IPv4 per address.
const limitKey = (address: string): string => {
  const ip = canonicalIp(address)
  if (isIP(ip) !== 6) return ip
  const [head, tail] = ip.split("::")
  const left = head === "" || head === undefined ? [] : head.split(":")
  const right = tail === undefined || tail === "" ? [] : tail.split(":")
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`
}
