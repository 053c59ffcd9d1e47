import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as References from "effect/References"
import { TestClock } from "effect/testing"
import * as RateLimiterMemory from "../../src/layers/RateLimiterMemory.ts"
import { DEFAULT_FAILURE_POLICY, emptyKey, recordFailure, retryAfter } from "../../src/auth/failureWindow.ts"
import { newDevice, signedConnect } from "../helpers/device.ts"
import { connectParams, coreLayer, homeWithConfig, openMemory, TEST_TOKEN } from "../helpers/testGateway.ts"

const policy = DEFAULT_FAILURE_POLICY

describe("failure window", () => {
  it.prop("never lets more than maxFailures failures through in any window before locking", [Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20_000 })))], ([gaps]) => {
    let state = emptyKey
    let now = 0
    const accepted: Array<number> = []
    for (const gap of gaps) {
      now += gap
      if (retryAfter(state, now) > 0) continue
      accepted.push(now)
      state = recordFailure(state, now, policy)
      const inWindow = accepted.filter((t) => now - t < policy.windowMs)
      assert.isAtMost(inWindow.length, policy.maxFailures)
      if (retryAfter(state, now) > 0) accepted.length = 0
    }
  })

  it("locks after the tenth failure for five minutes", () => {
    let state = emptyKey
    for (let i = 0; i < 9; i++) state = recordFailure(state, i, policy)
    assert.strictEqual(retryAfter(state, 9), 0)
    state = recordFailure(state, 9, policy)
    assert.strictEqual(retryAfter(state, 9), 300_000)
    assert.strictEqual(retryAfter(state, 300_009), 0)
  })
})

const Credentials = Schema.Struct({
  token: Schema.optionalKey(Schema.Literals(["bad-1", "bad-2", ""])),
  password: Schema.optionalKey(Schema.Literals(["nope"])),
  deviceToken: Schema.optionalKey(Schema.Literals(["forged"])),
  bootstrapToken: Schema.optionalKey(Schema.Literals(["stolen"]))
})

const limited = () => coreLayer({}, homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"] } }))

const attempt = (address: string, auth: Record<string, string>, withDevice: boolean) =>
  Effect.gen(function*() {
    const c = yield* openMemory({ headers: { "x-forwarded-for": address } })
    const challenge = yield* c.next
    const params = withDevice ? signedConnect(newDevice(), challenge.payload, { auth }) : connectParams({ auth })
    yield* c.push({ type: "req", id: "c", method: "connect", params })
    return yield* c.nextMatching((f) => f.id === "c")
  })

describe("RateLimiter", () => {
  it.effect("counts an IPv6 /64 as one client and keeps lockouts through a flood of new addresses", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiterMemory.make({ maxFailures: 3, windowMs: 60_000, lockoutMs: 300_000 })
      for (const host of ["1", "2", "abcd"]) yield* limiter.fail(`2001:db8:1:2::${host}`, "AUTH_TOKEN_MISMATCH")
      assert.strictEqual(yield* limiter.check("2001:db8:1:2:ffff::9"), 300_000)
      assert.strictEqual(yield* limiter.check("2001:db8:1:3::1"), 0)
      for (let i = 0; i < 10_050; i++) yield* limiter.fail(`198.18.${i >> 8}.${i & 255}`, "AUTH_TOKEN_MISMATCH")
      assert.strictEqual(yield* limiter.check("2001:db8:1:2::1"), 300_000)
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")))
})

describe("credential limiting at the handshake", () => {
  it.effect.prop("no combination of credential fields skips the limiter, and ::ffff: addresses share the count", [Schema.Array(Credentials).check(Schema.isMinLength(12), Schema.isMaxLength(20)), Schema.Boolean], ([attempts, withDevice]) =>
    Effect.gen(function*() {
      const results = []
      for (const [i, auth] of attempts.entries()) {
        results.push(yield* attempt(i % 2 === 0 ? "203.0.113.50" : "::ffff:203.0.113.50", auth, withDevice))
      }
      const codes = results.map((r) => r.error.details.code as string)
      const firstLimited = codes.indexOf("AUTH_RATE_LIMITED")
      if (firstLimited >= 0) assert.isTrue(codes.slice(firstLimited).every((c) => c === "AUTH_RATE_LIMITED"), codes.join(","))
      const counted = codes.filter((c) => c !== "AUTH_RATE_LIMITED" && c !== "AUTH_TOKEN_MISSING" && c !== "DEVICE_IDENTITY_REQUIRED" && c !== "AUTH_PASSWORD_MISSING").length
      assert.isAtMost(counted, 10)
      const valid = yield* attempt("203.0.113.50", { token: TEST_TOKEN }, false)
      if (counted === 10) assert.strictEqual(valid.error.details.code, "AUTH_RATE_LIMITED")
    }).pipe(Effect.provide(limited(), { local: true })), { arbitrary: { runs: 15 } })

  it.effect("locks out loopback too, tells how long to wait, and lets it in again after five minutes", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 10; i++) {
        const c = yield* openMemory()
        yield* c.next
        yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ auth: { token: "wrong" } }) })
        assert.strictEqual((yield* c.nextMatching((f) => f.id === "c")).error.details.code, "AUTH_TOKEN_MISMATCH")
      }
      const c = yield* openMemory()
      yield* c.next
      yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams() })
      const refused = yield* c.nextMatching((f) => f.id === "c")
      assert.strictEqual(refused.error.details.code, "AUTH_RATE_LIMITED")
      assert.strictEqual(refused.error.retryAfterMs, 300_000)
      yield* TestClock.adjust("5 minutes")
      const d = yield* openMemory()
      yield* d.next
      yield* d.push({ type: "req", id: "c", method: "connect", params: connectParams() })
      assert.strictEqual((yield* d.nextMatching((f) => f.id === "c")).ok, true)
    }).pipe(Effect.provide(coreLayer())))
})
