/**
 * The Redis RateLimiter: the failed-credential counts of several gateways kept in
 * one Redis, so a client locked out through one gateway is locked out on all of
 * them. Same policy as the memory layer (`auth/failureWindow.ts`): remote keys
 * locked out when the window fills up, the loopback key delayed more and more but
 * never locked out, a success clears the key.
 *
 * `effect/persistence`'s RateLimiter does not fit: it consumes tokens on every
 * call (fixed window / token bucket) and has no "look without counting", no
 * lockout longer than the window and no "success clears". So a failure is one
 * atomic Lua script (read, prune the window, append, lock), the verdict is a
 * plain GET read with the pure `verdict` of the memory layer, and a success a DEL.
 *
 * Every failure is counted in process too, and a check takes the stricter of
 * the two verdicts, so a Redis that answers reads but refuses writes cannot
 * open the door. The loopback key is per host (`loopback:<hostname>`).
 *
 * Redis down at start: the layer fails with the URL (password masked). Down
 * later: a remote client's credential check fails closed (`RateLimiterUnavailable`,
 * which the wire turns into a retryable UNAVAILABLE); the loopback key falls back
 * to an in-process limiter with the same policy, so the owner can still reach
 * their own gateway (delayed, never locked out).
 *
 * Loaded only when configured (`gateway.rateLimit.redisUrl` / `GATEHOUSE_REDIS_URL`).
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redis from "effect/persistence/Redis"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Result from "effect/Result"
import { hostname } from "node:os"
import { DEFAULT_KIND } from "../auth/credentialKind.ts"
import { type FailurePolicy, type KeyState, type Verdict, verdict } from "../auth/failureWindow.ts"
import { redactUrl } from "../config/redact.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { RateLimiter, RateLimiterError, RateLimiterUnavailable } from "../services/RateLimiter.ts"
import * as RateLimiterMemory from "./RateLimiterMemory.ts"

/** The limiter's Redis could not be used at start-up (unreachable, refused, bad URL). */
export class RateLimiterRedisError extends Schema.TaggedError<RateLimiterRedisError>()("RateLimiterRedisError", {
  message: Schema.String
}) {}

/** How long one limiter operation may wait for Redis before the check fails closed. */
export const OPERATION_TIMEOUT_MS = 2_000

/** Prefix of every key gatehouse writes (one Redis may serve other programs too). */
export const KEY_PREFIX = "gatehouse:ratelimit:"

/** A limiter with `policy` over an already connected `Redis`. */
export const make = (policy: FailurePolicy, url: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const redis = yield* Redis.Redis
    const shown = redactUrl(url)
    // The owner's own machine keeps working while Redis is down: same policy, counted here.
    const local = yield* RateLimiterMemory.make(policy)
    const unavailable = (cause: unknown) =>
      new RateLimiterError({
        reason: new RateLimiterUnavailable({
          message: `the shared rate limiter (Redis at ${shown}) is unreachable (${describe(cause, url)}); ` +
            "credentials cannot be checked safely, try again shortly"
        })
      })
    const guarded = <A>(op: Effect.Effect<A, Redis.RedisError>): Effect.Effect<A, RateLimiterError> =>
      op.pipe(
        Effect.timeoutOrElse({
          duration: OPERATION_TIMEOUT_MS,
          orElse: () => Effect.fail(new Redis.RedisError({ cause: new Error(`no answer within ${OPERATION_TIMEOUT_MS} ms`) }))
        }),
        Effect.catch((e) => Effect.fail(unavailable(e.cause))),
        Effect.tapError((e) => Effect.logWarning(`rate limiter: ${e.reason.message}`))
      )
    // Loopback falls back to the in-process limiter when Redis fails; remote keys fail closed.
    const orLocal = <A>(key: string, op: Effect.Effect<A, RateLimiterError>, fallback: Effect.Effect<A, RateLimiterError>) =>
      RateLimiterMemory.isLoopbackBucket(key) ? Effect.catch(op, () => fallback) : op
    const recordScript = recordFailureScript.withReturnType<ReadonlyArray<number>>()
    // Each host's loopback is its own client: one host's stray script must not slow another host's owner.
    const loopbackKey = `${KEY_PREFIX}${RateLimiterMemory.LOOPBACK_KEY}:${hostname()}`
    const redisKey = (key: string) =>
      RateLimiterMemory.isLoopbackBucket(key) ? loopbackKey + key.slice(RateLimiterMemory.LOOPBACK_KEY.length) : KEY_PREFIX + key
    return RateLimiter.of({
      // Every failure is also counted here, and the stricter verdict wins: a Redis that answers reads but
      // refuses writes (a read-only replica, OOM) must not turn into unlimited guesses.
      check: (address, kind = DEFAULT_KIND) => {
        const key = RateLimiterMemory.bucketKey(address, kind)
        const shared = Effect.gen(function*() {
          const raw = yield* guarded(redis.send<string | null>("GET", redisKey(key)))
          const state = decodeState(raw)
          if (state === undefined) return yield* Effect.fail(unavailable(new Error(`unreadable state under ${redisKey(key)}`)))
          const v = verdict(state, yield* Clock.currentTimeMillis, policy, RateLimiterMemory.isLoopbackBucket(key))
          if (v._tag === "Refuse") yield* Effect.logWarning(`auth refused: ${key} is locked out for ${Math.ceil(v.retryAfterMs / 1000)}s after repeated failures (shared limiter)`)
          if (v._tag === "Delay") yield* Effect.logWarning(`auth delayed: ${key} waits ${v.ms} ms after repeated failures (loopback is delayed, never locked out)`)
          return v
        })
        return Effect.gen(function*() {
          const mine = yield* local.check(address, kind)
          if (mine._tag === "Refuse") return mine
          return stricter(mine, yield* orLocal(key, shared, Effect.succeed(mine)))
        })
      },
      fail: (address, reason, kind = DEFAULT_KIND) => {
        const key = RateLimiterMemory.bucketKey(address, kind)
        const loopback = RateLimiterMemory.isLoopbackBucket(key)
        const shared = Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const [outcome] = yield* guarded(redis.eval(recordScript)(redisKey(key), now, policy, loopback))
          yield* outcome === LOCKED_NOW
            ? Effect.logWarning(`auth lockout: ${key} locked for ${policy.lockoutMs / 1000}s after ${policy.maxFailures} failures (last: ${reason}; shared limiter)`)
            : Effect.logInfo(`auth failure from ${key}: ${reason}`)
        })
        return Effect.andThen(local.fail(address, reason, kind), orLocal(key, shared, Effect.void))
      },
      succeed: (address, kind = DEFAULT_KIND) => {
        const key = RateLimiterMemory.bucketKey(address, kind)
        return Effect.andThen(local.succeed(address, kind), orLocal(key, Effect.asVoid(guarded(redis.send("DEL", redisKey(key)))), Effect.void))
      }
    })
  })

/** The stricter of two verdicts: a refusal over a delay, the longer delay over the shorter, either over allow. */
const stricter = (a: Verdict, b: Verdict): Verdict => {
  if (a._tag === "Refuse" || b._tag === "Refuse") return a._tag === "Refuse" ? a : b
  if (a._tag === "Delay" && b._tag === "Delay") return a.ms >= b.ms ? a : b
  return a._tag === "Delay" ? a : b
}

/** The limiter over the Redis at `url` with `policy`; fails to build (without showing the password) when Redis cannot be used. */
export const layerWith = (url: Redacted.Redacted<string>, policy: FailurePolicy): Layer.Layer<RateLimiter, RateLimiterRedisError> => {
  const shown = redactUrl(url)
  // Connected once: fail at start (the default strategy), then reconnect forever with backoff.
  let connected = false
  const client = NodeRedis.layer({
    url: Redacted.value(url),
    name: "gatehouse",
    // A command while the connection is down fails at once instead of queueing (the check fails closed).
    disableOfflineQueue: true,
    socket: {
      connectTimeout: OPERATION_TIMEOUT_MS,
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(2 ** retries * 50, 2_000) : cause)
    }
  })
  return Layer.effect(
    RateLimiter,
    Effect.gen(function*() {
      connected = true
      yield* Effect.logInfo(`rate limits shared through Redis at ${shown}`)
      return yield* make(policy, url)
    })
  ).pipe(
    Layer.provide(client),
    Layer.catchTag("RedisError", (e) =>
      Layer.effect(
        RateLimiter,
        Effect.fail(new RateLimiterRedisError({
          message: `cannot use the rate limiter's Redis at ${shown}: ${describe(e.cause, url)}; ` +
            "check gateway.rateLimit.redisUrl / GATEHOUSE_REDIS_URL and that Redis is running"
        }))
      ))
  )
}

/** The limiter over the configured Redis with the configured policy (`gateway.auth.rateLimit`). */
export const layer = (url: Redacted.Redacted<string>): Layer.Layer<RateLimiter, RateLimiterRedisError, GatewayConfig> =>
  Layer.unwrap(Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    return layerWith(url, config.authRateLimit)
  }))

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const LOCKED_NOW = 2

// recordFailure of failureWindow.ts, atomically: {0, n} counted, {1, ms} still locked (nothing changes), {2, ms} locked now.
const recordFailureScript = Redis.script(
  (key: string, now: number, policy: FailurePolicy, loopback: boolean) => [
    key, now, policy.windowMs, policy.maxFailures, policy.lockoutMs, loopback ? 1 : 0
  ],
  {
    numberOfKeys: 1,
    lua: `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local lockout = tonumber(ARGV[4])
local loopback = ARGV[5] == "1"
local failures = {}
local locked = 0
local raw = redis.call("GET", KEYS[1])
if raw then
  local s = cjson.decode(raw)
  if type(s.f) == "table" then failures = s.f end
  locked = tonumber(s.l) or 0
end
if locked > now then return {1, locked - now} end
local recent = {}
for _, t in ipairs(failures) do
  if now - t < window then recent[#recent + 1] = t end
end
if loopback and #recent > max + 16 then
  local kept = {}
  for i = #recent - (max + 16) + 1, #recent do kept[#kept + 1] = recent[i] end
  recent = kept
end
recent[#recent + 1] = now
if (not loopback) and #recent >= max then
  redis.call("SET", KEYS[1], cjson.encode({f = {}, l = now + lockout}), "PX", lockout)
  return {2, lockout}
end
redis.call("SET", KEYS[1], cjson.encode({f = recent, l = 0}), "PX", window)
return {0, #recent}
`
  }
)

// The stored state, or undefined when it is not ours to read (never guessed as "no failures").
const decodeState = (raw: string | null): KeyState | undefined => {
  if (raw === null) return { failures: [], lockedUntil: undefined }
  const parsed = Result.try(() => JSON.parse(raw) as { f?: unknown; l?: unknown } | null)
  if (Result.isFailure(parsed) || parsed.success === null) return undefined
  const s = parsed.success
  // cjson writes an empty table as {}.
  const failures = Array.isArray(s.f) ? s.f : typeof s.f === "object" && s.f !== null && Object.keys(s.f).length === 0 ? [] : undefined
  if (failures === undefined || !failures.every((t) => typeof t === "number") || typeof s.l !== "number") return undefined
  return { failures, lockedUntil: s.l > 0 ? s.l : undefined }
}

// A cause fit to show: its message (or error code), on one line, with the URL's password masked should it appear.
const describe = (cause: unknown, url: Redacted.Redacted<string>): string => {
  const code = typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : undefined
  const message = cause instanceof Error ? cause.message : String(cause)
  let text = (message === "" ? code ?? (cause instanceof Error ? cause.name : "unknown error") : message).replace(/[\r\n]+/g, " ").slice(0, 300)
  const password = URL.canParse(Redacted.value(url)) ? decodeURIComponent(new URL(Redacted.value(url)).password) : ""
  if (password !== "") text = text.split(password).join("***")
  return text
}
