import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as References from "effect/References"
import { TestClock } from "effect/testing"
import * as RateLimiterMemory from "../../src/layers/RateLimiterMemory.ts"
import { DEFAULT_FAILURE_POLICY, emptyKey, LOOPBACK_MAX_DELAY_MS, recordFailure, retryAfter, verdict } from "../../src/auth/failureWindow.ts"
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

  it.prop("loopback is never refused: its delay grows with failures past the limit, stays under the cap, and ends with the window", [Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20_000 }))).check(Schema.isMaxLength(80))], ([gaps]) => {
    let state = emptyKey
    let now = 0
    let previous = 0
    for (const gap of gaps) {
      now += gap
      state = recordFailure(state, now, policy, true)
      const v = verdict(state, now, policy, true)
      assert.notStrictEqual(v._tag, "Refuse")
      const inWindow = state.failures.filter((t) => now - t < policy.windowMs).length
      if (v._tag === "Delay") {
        assert.isAtLeast(inWindow, policy.maxFailures)
        assert.isAtMost(v.ms, LOOPBACK_MAX_DELAY_MS)
        if (gap === 0) assert.isAtLeast(v.ms, previous)
        previous = v.ms
      } else {
        assert.isBelow(inWindow, policy.maxFailures)
        previous = 0
      }
    }
    assert.deepStrictEqual(verdict(state, now + policy.windowMs, policy, true), { _tag: "Allow" })
  }, { arbitrary: { runs: 300 } })

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

// The credential kind a refusal code says was guessed wrong.
const KIND_OF_CODE: Record<string, string> = {
  AUTH_TOKEN_MISMATCH: "shared-secret",
  AUTH_PASSWORD_MISMATCH: "shared-secret",
  AUTH_DEVICE_TOKEN_MISMATCH: "device-token",
  AUTH_BOOTSTRAP_TOKEN_INVALID: "bootstrap-token"
}

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
      assert.deepStrictEqual(yield* limiter.check("2001:db8:1:2:ffff::9"), { _tag: "Refuse", retryAfterMs: 300_000 })
      assert.deepStrictEqual(yield* limiter.check("2001:db8:1:3::1"), { _tag: "Allow" })
      for (let i = 0; i < 10_050; i++) yield* limiter.fail(`198.18.${i >> 8}.${i & 255}`, "AUTH_TOKEN_MISMATCH")
      assert.deepStrictEqual(yield* limiter.check("2001:db8:1:2::1"), { _tag: "Refuse", retryAfterMs: 300_000 })
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")))
})

describe("credential limiting at the handshake", () => {
  it.effect.prop("no combination of credential fields skips the limiter, and ::ffff: addresses share the count", [Schema.Array(Credentials).check(Schema.isMinLength(12), Schema.isMaxLength(20)), Schema.Boolean], ([attempts, withDevice]) =>
    Effect.gen(function*() {
      const results = []
      for (const [i, auth] of attempts.entries()) {
        results.push(yield* attempt(i % 2 === 0 ? "203.0.113.50" : "::ffff:203.0.113.50", auth, withDevice))
      }
      // Counts are kept per credential kind: no kind answers "wrong" more than ten times.
      const codes = results.map((r) => r.error.details.code as string)
      const perKind = new Map<string, number>()
      for (const code of codes) {
        const kind = KIND_OF_CODE[code]
        if (kind !== undefined) perKind.set(kind, (perKind.get(kind) ?? 0) + 1)
      }
      for (const [kind, n] of perKind) assert.isAtMost(n, 10, `${kind}: ${codes.join(",")}`)
      const valid = yield* attempt("203.0.113.50", { token: TEST_TOKEN }, false)
      if (perKind.get("shared-secret") === 10) assert.strictEqual(valid.error.details.code, "AUTH_RATE_LIMITED")
    }).pipe(Effect.provide(limited(), { local: true })), { arbitrary: { runs: 15 } })

  it.effect("never locks out loopback: past the limit each attempt waits longer, and the owner's token still gets in", () =>
    Effect.gen(function*() {
      const wrong = (address: string) =>
        Effect.gen(function*() {
          const c = yield* openMemory({ remoteAddress: address })
          yield* c.next
          yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ auth: { token: "wrong" } }) })
          return yield* c.nextMatching((f) => f.id === "c")
        })
      for (let i = 0; i < 10; i++) assert.strictEqual((yield* wrong(i % 2 === 0 ? "127.0.0.1" : "127.8.9.10")).error.details.code, "AUTH_TOKEN_MISMATCH")
      const late = yield* Effect.forkChild(wrong("::1"))
      yield* TestClock.adjust("999 millis")
      assert.isUndefined(late.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* Fiber.join(late)).error.details.code, "AUTH_TOKEN_MISMATCH")
      const owner = yield* openMemory()
      yield* owner.next
      yield* owner.push({ type: "req", id: "c", method: "connect", params: connectParams() })
      const admitted = yield* Effect.forkChild(owner.nextMatching((f) => f.id === "c"))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual((yield* Fiber.join(admitted)).ok, true)
      const after = yield* openMemory()
      yield* after.next
      yield* after.push({ type: "req", id: "c", method: "connect", params: connectParams() })
      assert.strictEqual((yield* after.nextMatching((f) => f.id === "c")).ok, true)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("a remote client's own device token does not reset its count of guesses at the gateway token", () =>
    Effect.gen(function*() {
      const device = newDevice()
      const local = yield* openMemory()
      const pairing = yield* local.next
      yield* local.push({ type: "req", id: "c", method: "connect", params: signedConnect(device, pairing.payload, { auth: { token: TEST_TOKEN } }) })
      const paired = yield* local.nextMatching((f) => f.id === "c")
      const deviceToken = paired.payload.auth.deviceToken as string
      const address = "203.0.113.77"
      for (let i = 0; i < 9; i++) assert.strictEqual((yield* attempt(address, { token: "bad-1" }, false)).error.details.code, "AUTH_TOKEN_MISMATCH")
      const own = yield* openMemory({ headers: { "x-forwarded-for": address } })
      const challenge = yield* own.next
      yield* own.push({ type: "req", id: "c", method: "connect", params: signedConnect(device, challenge.payload, { auth: { deviceToken } }) })
      assert.strictEqual((yield* own.nextMatching((f) => f.id === "c")).ok, true)
      assert.strictEqual((yield* attempt(address, { token: "bad-2" }, false)).error.details.code, "AUTH_TOKEN_MISMATCH")
      assert.strictEqual((yield* attempt(address, { token: TEST_TOKEN }, false)).error.details.code, "AUTH_RATE_LIMITED")
    }).pipe(Effect.provide(limited())))

  it.effect("a guess at the gateway token riding beside a valid device token is counted: after ten, the pair is refused", () =>
    Effect.gen(function*() {
      const device = newDevice()
      const local = yield* openMemory()
      const pairing = yield* local.next
      yield* local.push({ type: "req", id: "c", method: "connect", params: signedConnect(device, pairing.payload, { auth: { token: TEST_TOKEN } }) })
      const deviceToken = (yield* local.nextMatching((f) => f.id === "c")).payload.auth.deviceToken as string
      const address = "203.0.113.78"
      const both = (guess: string) =>
        Effect.gen(function*() {
          const c = yield* openMemory({ headers: { "x-forwarded-for": address } })
          const challenge = yield* c.next
          yield* c.push({ type: "req", id: "c", method: "connect", params: signedConnect(device, challenge.payload, { auth: { token: guess, deviceToken } }) })
          return yield* c.nextMatching((f) => f.id === "c")
        })
      for (let i = 0; i < 10; i++) {
        const r = yield* both(`guess-${i}`)
        // Admitted on the device token, never as the token: the answer says nothing about the guess.
        assert.strictEqual(r.payload?.auth?.method ?? r.error?.details?.code, "device-token")
      }
      assert.strictEqual((yield* both(TEST_TOKEN)).error.details.code, "AUTH_RATE_LIMITED")
      // (The device's sessions stay open here, so its socket budget is raised for the test.)
    }).pipe(Effect.provide(coreLayer({}, homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"], limits: { maxConnectionsPerDevice: 64 } } })))))

  it.effect("locks out a remote address, tells how long to wait, and lets it in again after five minutes", () =>
    Effect.gen(function*() {
      const from = (token: string) =>
        Effect.gen(function*() {
          const c = yield* openMemory({ remoteAddress: "198.51.100.23" })
          yield* c.next
          yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ auth: { token } }) })
          return yield* c.nextMatching((f) => f.id === "c")
        })
      for (let i = 0; i < 10; i++) assert.strictEqual((yield* from("wrong")).error.details.code, "AUTH_TOKEN_MISMATCH")
      const refused = yield* from(TEST_TOKEN)
      assert.strictEqual(refused.error.details.code, "AUTH_RATE_LIMITED")
      assert.strictEqual(refused.error.retryAfterMs, 300_000)
      yield* TestClock.adjust("5 minutes")
      assert.strictEqual((yield* from(TEST_TOKEN)).ok, true)
    }).pipe(Effect.provide(coreLayer())))

  it.effect("parallel sockets from one client cannot each pass the check before a failure lands: at most 10 guesses", () =>
    Effect.gen(function*() {
      const answers = yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => i),
        (i) => attempt("203.0.113.77", { token: `parallel-guess-${i}` }, false),
        { concurrency: "unbounded" }
      )
      const codes = answers.map((a) => a.error?.details?.code)
      assert.strictEqual(codes.filter((c) => c === "AUTH_TOKEN_MISMATCH").length, 10, codes.join(","))
      assert.strictEqual(codes.filter((c) => c === "AUTH_RATE_LIMITED").length, 20, codes.join(","))
    }).pipe(Effect.provide(limited())))

  it.effect("a burst of parallel wrong loopback attempts never queues the owner behind their delays", () =>
    Effect.gen(function*() {
      const connect = (token: string) =>
        Effect.gen(function*() {
          const c = yield* openMemory({ remoteAddress: "127.0.0.1" })
          yield* c.next
          yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ auth: { token } }) })
          return yield* c.nextMatching((f) => f.id === "c")
        })
      for (let i = 0; i < 10; i++) assert.strictEqual((yield* connect("wrong")).error.details.code, "AUTH_TOKEN_MISMATCH")
      // Twenty stray attempts, each delayed, in flight at once; then the owner.
      const stray = yield* Effect.forkChild(Effect.forEach(Array.from({ length: 20 }), () => connect("wrong"), { concurrency: "unbounded" }))
      const owner = yield* Effect.forkChild(connect(TEST_TOKEN))
      // Its own delay (as long as theirs, at most the loopback maximum) and it is in: not twenty of them in a row.
      yield* TestClock.adjust(LOOPBACK_MAX_DELAY_MS)
      assert.strictEqual((yield* Fiber.join(owner)).ok, true)
      yield* TestClock.adjust(LOOPBACK_MAX_DELAY_MS)
      assert.isTrue((yield* Fiber.join(stray)).every((r) => r.error.details.code === "AUTH_TOKEN_MISMATCH"))
    }).pipe(Effect.provide(coreLayer())))
})
