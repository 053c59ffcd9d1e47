import { assert, describe, it, layer } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { DEFAULT_FAILURE_POLICY, type FailurePolicy } from "../../src/auth/failureWindow.ts"
import * as RateLimiterMemory from "../../src/layers/RateLimiterMemory.ts"
import * as RateLimiterRedis from "../../src/layers/RateLimiterRedis.ts"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { RateLimiter, type RateLimiterShape } from "../../src/services/RateLimiter.ts"
import { freePort } from "../helpers/processes.ts"
import { redisAvailable, TestRedis } from "../helpers/redis.ts"
import { homeWithConfig, serverLayer, TEST_TOKEN } from "../helpers/testGateway.ts"
import { openWs } from "../helpers/wsClient.ts"

const policy: FailurePolicy = DEFAULT_FAILURE_POLICY

const redisLimiter = (url: Redacted.Redacted<string>, p: FailurePolicy = policy): Effect.Effect<RateLimiterShape, RateLimiterRedis.RateLimiterRedisError, Scope.Scope> =>
  Effect.map(Layer.build(RateLimiterRedis.layerWith(url, p)), (ctx) => Context.get(ctx, RateLimiter))

let clients = 0
// A fresh remote address per test, so tests sharing one Redis do not see each other's counts.
const freshAddress = () => `198.51.100.${++clients}`

// The same policy contract, whichever layer keeps the counts.
const contract = <R>(limiter: Effect.Effect<RateLimiterShape, unknown, R>) =>
  Effect.scoped(Effect.gen(function*() {
    const l = yield* limiter
    // Remote: maxFailures wrong credentials lock the address out; another address is untouched.
    const a = freshAddress()
    const b = freshAddress()
    for (let i = 0; i < policy.maxFailures - 1; i++) yield* l.fail(a, "AUTH_TOKEN_MISMATCH")
    assert.strictEqual((yield* l.check(a))._tag, "Allow")
    yield* l.fail(a, "AUTH_TOKEN_MISMATCH")
    const refused = yield* l.check(a)
    assert.strictEqual(refused._tag, "Refuse")
    if (refused._tag === "Refuse") assert.isAbove(refused.retryAfterMs, policy.lockoutMs - 5_000)
    assert.strictEqual((yield* l.check(b))._tag, "Allow")
    // IPv4-mapped IPv6 is the same client.
    assert.strictEqual((yield* l.check(`::ffff:${a}`))._tag, "Refuse")
    // A success clears the count (before a lockout).
    for (let i = 0; i < policy.maxFailures - 1; i++) yield* l.fail(b, "AUTH_TOKEN_MISMATCH")
    yield* l.succeed(b)
    yield* l.fail(b, "AUTH_TOKEN_MISMATCH")
    assert.strictEqual((yield* l.check(b))._tag, "Allow")
    // IPv6: one client per /64.
    const net = `2001:db8:${clients}:7`
    for (let i = 0; i < policy.maxFailures; i++) yield* l.fail(`${net}::${i + 1}`, "AUTH_TOKEN_MISMATCH")
    assert.strictEqual((yield* l.check(`${net}:ffff::1`))._tag, "Refuse")
    assert.strictEqual((yield* l.check(`2001:db8:${clients}:8::1`))._tag, "Allow")
    // Loopback: every 127/8 address and ::1 are one key, delayed more and more, never refused.
    yield* l.succeed("127.0.0.1")
    const delays: Array<number> = []
    for (let i = 0; i < policy.maxFailures * 3; i++) {
      yield* l.fail(i % 3 === 0 ? "127.0.0.1" : i % 3 === 1 ? "::1" : "127.4.5.6", "AUTH_TOKEN_MISMATCH")
      const v = yield* l.check("127.0.0.1")
      assert.notStrictEqual(v._tag, "Refuse")
      if (v._tag === "Delay") delays.push(v.ms)
    }
    assert.isAbove(delays.length, 0)
    assert.isTrue(delays.every((d, i) => i === 0 || d >= delays[i - 1]!), delays.join(","))
    yield* l.succeed("::1")
    assert.strictEqual((yield* l.check("127.0.0.1"))._tag, "Allow")
    // Credential kinds are counted apart: a locked-out device token leaves the shared secret's count alone,
    // and a loopback kind is still only delayed.
    const c = freshAddress()
    for (let i = 0; i < policy.maxFailures; i++) yield* l.fail(`::ffff:${c}`, "AUTH_DEVICE_TOKEN_MISMATCH", "device-token")
    assert.strictEqual((yield* l.check(c, "device-token"))._tag, "Refuse")
    assert.strictEqual((yield* l.check(c))._tag, "Allow")
    assert.strictEqual((yield* l.check(c, "bootstrap-token"))._tag, "Allow")
    for (let i = 0; i < policy.maxFailures + 2; i++) yield* l.fail("127.0.0.9", "AUTH_BOOTSTRAP_TOKEN_INVALID", "bootstrap-token")
    assert.strictEqual((yield* l.check("::1", "bootstrap-token"))._tag, "Delay")
    yield* l.succeed("127.0.0.1", "bootstrap-token")
  }))

// The response to a connect with `token` from the remote address `from` (through the trusted loopback proxy).
const connectWith = (url: string, token: string, from: string) =>
  Effect.scoped(Effect.gen(function*() {
    const c = yield* openWs(url, { "x-forwarded-for": from })
    yield* c.nextMatching((f) => f.event === "connect.challenge")
    const client = { id: "openclaw-tui", version: "t", platform: "linux", mode: "ui" }
    yield* c.send({ type: "req", id: "c", method: "connect", params: { minProtocol: 4, maxProtocol: 4, client, auth: { token }, scopes: ["operator.read"] } })
    return yield* c.nextMatching((f) => f.id === "c")
  }))

const gatewayOn = (redisUrl: Redacted.Redacted<string>) =>
  Effect.map(
    Layer.build(serverLayer({}, {
      ...homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"] } }),
      GATEHOUSE_REDIS_URL: Redacted.value(redisUrl)
    })),
    (context) => Context.get(context, GatewayServer).url
  )

describe("RateLimiter policy contract", () => {
  it.live("in memory: locks remote clients out, delays loopback, success clears, IPv6 per /64", () => contract(RateLimiterMemory.make(policy)))
})

describe("RateLimiter over a real Redis", () => {
  if (!redisAvailable("the Redis rate limiter tests")) return
  layer(TestRedis.layer, { timeout: "60 seconds", excludeTestServices: true })("on a real server", (it) => {
    it.effect("the same policy contract as the memory layer", () =>
      contract(Effect.gen(function*() {
        const redis = yield* TestRedis
        return yield* redisLimiter(redis.url())
      })))

    it.effect("failures counted by one limiter lock the client out of another sharing the Redis", () =>
      Effect.scoped(Effect.gen(function*() {
        const redis = yield* TestRedis
        const a = yield* redisLimiter(redis.url())
        const b = yield* redisLimiter(redis.url())
        const client = freshAddress()
        for (let i = 0; i < policy.maxFailures; i++) yield* (i % 2 === 0 ? a : b).fail(client, "AUTH_TOKEN_MISMATCH")
        assert.strictEqual((yield* b.check(client))._tag, "Refuse")
        assert.strictEqual((yield* a.check(client))._tag, "Refuse")
      })))

    it.effect("a Redis that answers reads but refuses writes (OOM) still locks a guessing client out", () =>
      Effect.scoped(Effect.gen(function*() {
        const redis = yield* TestRedis
        const l = yield* redisLimiter(redis.url())
        const cli = (...args: Array<string>) =>
          execFileSync("redis-cli", ["-p", String(redis.port), "-a", redis.password, "--no-auth-warning", ...args], { encoding: "utf8" })
        yield* Effect.acquireRelease(
          Effect.sync(() => cli("CONFIG", "SET", "maxmemory-policy", "noeviction", "maxmemory", "1")),
          () => Effect.sync(() => cli("CONFIG", "SET", "maxmemory", "0"))
        )
        const client = freshAddress()
        for (let i = 0; i < policy.maxFailures; i++) {
          // The shared count cannot be written: the failure is reported (fail closed), and still counted here.
          const written = yield* Effect.exit(l.fail(client, "AUTH_TOKEN_MISMATCH"))
          assert.isTrue(Exit.isFailure(written))
        }
        assert.strictEqual((yield* l.check(client))._tag, "Refuse")
      })))

    it.effect("failures through gateway A lock the same client out of gateway B", () =>
      Effect.scoped(Effect.gen(function*() {
        const redis = yield* TestRedis
        const a = yield* gatewayOn(redis.url())
        const b = yield* gatewayOn(redis.url())
        const attacker = freshAddress()
        for (let i = 0; i < policy.maxFailures; i++) {
          const res = yield* connectWith(a, "wrong-token", attacker)
          assert.strictEqual(res.error.details.code, "AUTH_TOKEN_MISMATCH")
        }
        const onB = yield* connectWith(b, TEST_TOKEN, attacker)
        assert.strictEqual(onB.error.details.code, "AUTH_RATE_LIMITED", JSON.stringify(onB.error))
        // Another client is not affected.
        const other = yield* connectWith(b, TEST_TOKEN, freshAddress())
        assert.strictEqual(other.ok, true, JSON.stringify(other.error))
      })))

    it.effect("a gateway whose Redis goes down refuses remote credentials with a retryable UNAVAILABLE; loopback still connects", () =>
      Effect.scoped(Effect.gen(function*() {
        const redis = yield* TestRedis
        const gw = yield* gatewayOn(redis.url())
        yield* redis.stop
        const remote = yield* connectWith(gw, TEST_TOKEN, freshAddress())
        assert.strictEqual(remote.ok, false)
        assert.strictEqual(remote.error.code, "UNAVAILABLE", JSON.stringify(remote.error))
        assert.strictEqual(remote.error.retryable, true)
        assert.notInclude(JSON.stringify(remote), redis.password)
        const local = yield* Effect.scoped(Effect.gen(function*() {
          const c = yield* openWs(gw)
          yield* c.nextMatching((f) => f.event === "connect.challenge")
          const client = { id: "openclaw-tui", version: "t", platform: "linux", mode: "ui" }
          yield* c.send({ type: "req", id: "c", method: "connect", params: { minProtocol: 4, maxProtocol: 4, client, auth: { token: TEST_TOKEN }, scopes: ["operator.read"] } })
          return yield* c.nextMatching((f) => f.id === "c")
        }))
        assert.strictEqual(local.ok, true, JSON.stringify(local.error))
        yield* redis.start
      })))

    it.effect("a wrong password at start is a startup error naming the server, never the password", () =>
      Effect.gen(function*() {
        const redis = yield* TestRedis
        const exit = yield* Effect.exit(Effect.scoped(redisLimiter(redis.url("not-the-password-4242"))))
        assert.isTrue(Exit.isFailure(exit))
        const text = JSON.stringify(exit)
        assert.include(text, `127.0.0.1:${redis.port}`)
        assert.notInclude(text, "not-the-password-4242")
        assert.notInclude(text, redis.password)
      }))

    it.effect("a Redis that goes down: remote checks fail closed with a retryable error, loopback still works; back up: shared again", () =>
      Effect.scoped(Effect.gen(function*() {
        const redis = yield* TestRedis
        const l = yield* redisLimiter(redis.url())
        const client = freshAddress()
        yield* l.fail(client, "AUTH_TOKEN_MISMATCH")
        yield* redis.stop
        const down = yield* Effect.flip(l.check(client))
        assert.strictEqual(down.reason._tag, "RateLimiterUnavailable")
        assert.include(down.reason.message, `127.0.0.1:${redis.port}`)
        assert.include(down.reason.message, "try again")
        assert.notInclude(down.reason.message, redis.password)
        assert.strictEqual((yield* Effect.flip(l.fail(client, "AUTH_TOKEN_MISMATCH"))).reason._tag, "RateLimiterUnavailable")
        // The owner's own machine keeps working (the local fallback, same policy).
        assert.strictEqual((yield* l.check("127.0.0.1"))._tag, "Allow")
        yield* l.fail("::1", "AUTH_TOKEN_MISMATCH")
        yield* redis.start
        // The client reconnects by itself (the server came back empty: nothing was saved).
        let back = false
        for (let i = 0; i < 50 && !back; i++) {
          back = Exit.isSuccess(yield* Effect.exit(l.check(client)))
          if (!back) yield* Effect.sleep("100 millis")
        }
        assert.isTrue(back, "the limiter did not reconnect to Redis")
      })))
  })

  layer(Layer.empty, { excludeTestServices: true })("without a server", (it) => {
    it.effect("a Redis that is down at start is a startup error naming the URL without the password", () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(freePort)
        const exit = yield* Effect.exit(Effect.scoped(redisLimiter(Redacted.make(`redis://:s3cret-pw-0042@127.0.0.1:${port}/0`))))
        assert.isTrue(Exit.isFailure(exit))
        const text = JSON.stringify(exit)
        assert.include(text, `redis://:***@127.0.0.1:${port}/0`)
        assert.include(text, "GATEHOUSE_REDIS_URL")
        assert.notInclude(text, "s3cret-pw-0042")
      }))
  })
})
