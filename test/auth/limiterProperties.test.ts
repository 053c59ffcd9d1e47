import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as References from "effect/References"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { CREDENTIAL_KINDS, type CredentialKind } from "../../src/auth/credentialKind.ts"
import type { FailurePolicy } from "../../src/auth/failureWindow.ts"
import * as RateLimiterMemory from "../../src/layers/RateLimiterMemory.ts"
import { newDevice, signedConnect } from "../helpers/device.ts"
import { connectParams, coreLayer, homeWithConfig, openMemory, TEST_TOKEN } from "../helpers/testGateway.ts"

const policy: FailurePolicy = { maxFailures: 10, windowMs: 60_000, lockoutMs: 300_000 }

// Spellings of four clients: two remote IPv4 ones (plain and IPv4-mapped), one IPv6 /64, and loopback.
const SPELLINGS: ReadonlyArray<readonly [string, string]> = [
  ["203.0.113.9", "a"],
  ["::ffff:203.0.113.9", "a"],
  ["::FFFF:cb00:7109", "a"],
  ["198.51.100.4", "b"],
  ["::ffff:198.51.100.4", "b"],
  ["2001:db8:7:8::1", "c"],
  ["2001:db8:7:8:ffff:1:2:3", "c"],
  ["2001:0db8:0007:0008::9", "c"],
  ["127.0.0.1", "loopback"],
  ["127.31.4.5", "loopback"],
  ["::1", "loopback"],
  ["::ffff:127.0.0.1", "loopback"]
]

const Step = Schema.Struct({
  spelling: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: SPELLINGS.length - 1 })),
  kind: Schema.Literals(CREDENTIAL_KINDS),
  gapMs: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20_000 }))
})

const quiet = Effect.provideService(References.MinimumLogLevel, "Error")

describe("RateLimiter properties", () => {
  it.effect.prop(
    "for any interleaving of address spellings and credential kinds, no client gets more than maxFailures guesses of a kind per window; loopback is never refused",
    [Schema.Array(Step).check(Schema.isMaxLength(200))],
    ([steps]) =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiterMemory.make(policy)
        // Guesses the limiter let through, per client and kind, since that count was last locked.
        const allowed = new Map<string, Array<number>>()
        let now = 0
        for (const { gapMs, kind, spelling } of steps) {
          yield* TestClock.adjust(gapMs)
          now += gapMs
          const [address, client] = SPELLINGS[spelling]!
          const verdict = yield* limiter.check(address, kind)
          if (client === "loopback") assert.notStrictEqual(verdict._tag, "Refuse")
          if (verdict._tag === "Refuse") {
            allowed.delete(`${client}|${kind}`)
            continue
          }
          const key = `${client}|${kind}`
          const list = (allowed.get(key) ?? []).filter((t) => now - t < policy.windowMs)
          list.push(now)
          allowed.set(key, list)
          if (client !== "loopback") assert.isAtMost(list.length, policy.maxFailures, key)
          yield* limiter.fail(address, "wrong", kind)
        }
      }).pipe(quiet),
    { arbitrary: { runs: 200 } }
  )

  it.effect.prop(
    "its state never grows past its cap, however many distinct addresses and kinds fail, and lockouts survive the flood",
    [Schema.Int.check(Schema.isBetween({ minimum: 10_001, maximum: 14_000 })), Schema.Literals(CREDENTIAL_KINDS)],
    ([distinct, kind]) =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiterMemory.make(policy)
        for (let i = 0; i < policy.maxFailures; i++) yield* limiter.fail("192.0.2.77", "wrong", kind)
        for (let i = 0; i < distinct; i++) {
          const k: CredentialKind = CREDENTIAL_KINDS[i % CREDENTIAL_KINDS.length]!
          yield* limiter.fail(i % 2 === 0 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `2001:db8:${i.toString(16)}::1`, "wrong", k)
          if (i % 500 === 0) yield* TestClock.adjust(10)
        }
        assert.isAtMost(limiter.size(), 10_000)
        assert.strictEqual((yield* limiter.check("::ffff:192.0.2.77", kind))._tag, "Refuse")
      }).pipe(quiet),
    { arbitrary: { runs: 3 } }
  )
})

// An attempt at the handshake: a credential field combination, a role, a device or none.
const Attempt = Schema.Struct({
  spelling: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 7 })),
  role: Schema.Literals(["operator", "node"]),
  withDevice: Schema.Boolean,
  token: Schema.optionalKey(Schema.Literals(["bad-1", "", "bad-2"])),
  password: Schema.optionalKey(Schema.Literals(["nope"])),
  deviceToken: Schema.optionalKey(Schema.Literals(["forged", ""])),
  bootstrapToken: Schema.optionalKey(Schema.Literals(["stolen"])),
  extra: Schema.optionalKey(Schema.Literals(["garbled"]))
})

// The credential kind a refusal code says was guessed wrong.
const KIND_OF_CODE: Record<string, string> = {
  AUTH_TOKEN_MISMATCH: "shared-secret",
  AUTH_PASSWORD_MISMATCH: "shared-secret",
  AUTH_DEVICE_TOKEN_MISMATCH: "device-token",
  AUTH_BOOTSTRAP_TOKEN_INVALID: "bootstrap-token"
}

const behindProxy = () => coreLayer({}, homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"] } }))

const handshake = (address: string, params: unknown) =>
  Effect.gen(function*() {
    const c = yield* openMemory({ headers: { "x-forwarded-for": address } })
    const challenge = yield* c.next
    yield* c.push({ type: "req", id: "c", method: "connect", params: typeof params === "function" ? params(challenge.payload) : params })
    return yield* c.nextMatching((f) => f.id === "c")
  })

describe("credential limiting at the handshake, by kind", () => {
  it.effect.prop(
    "any interleaving of address spellings, roles, devices and field combinations: no client is told 'wrong' more than ten times per kind, and a full count refuses the right credential too",
    [Schema.Array(Attempt).check(Schema.isMinLength(15), Schema.isMaxLength(40))],
    ([attempts]) =>
      Effect.gen(function*() {
        const perClient = new Map<string, Map<string, number>>()
        for (const a of attempts) {
          const [address, client] = SPELLINGS[a.spelling]!
          const auth: Record<string, string> = {}
          for (const f of ["token", "password", "deviceToken", "bootstrapToken"] as const) if (a[f] !== undefined) auth[f] = a[f]!
          const device = newDevice()
          const res = yield* handshake(address, (challenge: { nonce: string; ts: number }) => {
            const params = a.withDevice ? signedConnect(device, challenge, { role: a.role, auth }) : connectParams({ auth, role: a.role, scopes: [] })
            return a.extra === undefined ? params : { ...params, auth: { ...auth, extra: a.extra } }
          })
          assert.strictEqual(res.ok, false)
          const kind = KIND_OF_CODE[res.error.details?.code as string]
          if (kind === undefined) continue
          const counts = perClient.get(client) ?? new Map<string, number>()
          counts.set(kind, (counts.get(kind) ?? 0) + 1)
          perClient.set(client, counts)
          assert.isAtMost(counts.get(kind)!, 10, `${client} ${kind}`)
        }
        for (const [client, counts] of perClient) {
          if (counts.get("shared-secret") !== 10) continue
          const address = SPELLINGS.find(([, c]) => c === client)![0]
          const right = yield* handshake(address, connectParams({ auth: { token: TEST_TOKEN } }))
          assert.strictEqual(right.error?.details.code, "AUTH_RATE_LIMITED", client)
        }
      }).pipe(Effect.provide(behindProxy(), { local: true })),
    { arbitrary: { runs: 12 } }
  )

  it.effect("asking for a role the device is not paired for does not carry a guess at the gateway token past its count", () =>
    Effect.gen(function*() {
      // The attacker's own device, paired as a node.
      const device = newDevice()
      const local = yield* openMemory()
      const first = yield* local.next
      yield* local.push({ type: "req", id: "c", method: "connect", params: signedConnect(device, first.payload, { role: "node", auth: { token: TEST_TOKEN } }) })
      assert.strictEqual((yield* local.nextMatching((f) => f.id === "c")).ok, true)
      const address = "203.0.113.201"
      // Guesses at the gateway token, each asking for the operator role the device was never paired for.
      for (let i = 0; i < 10; i++) {
        const res = yield* handshake(address, (challenge: { nonce: string; ts: number }) => signedConnect(device, challenge, { role: "operator", auth: { token: `guess-${i}` } }))
        assert.strictEqual(res.ok, false)
        assert.notStrictEqual(res.error.details.code, "AUTH_RATE_LIMITED")
      }
      const right = yield* handshake(address, (challenge: { nonce: string; ts: number }) => signedConnect(device, challenge, { role: "operator", auth: { token: TEST_TOKEN } }))
      assert.strictEqual(right.error.details.code, "AUTH_RATE_LIMITED")
    }).pipe(Effect.provide(behindProxy())))

  it.effect("counts are kept per kind: a locked-out bootstrap code does not lock out the gateway token from the same address", () =>
    Effect.gen(function*() {
      const address = "203.0.113.202"
      for (let i = 0; i < 10; i++) {
        const res = yield* handshake(address, (challenge: { nonce: string; ts: number }) => signedConnect(newDevice(), challenge, { auth: { bootstrapToken: `code-${i}` } }))
        assert.strictEqual(res.error.details.code, "AUTH_BOOTSTRAP_TOKEN_INVALID")
      }
      const again = yield* handshake(address, (challenge: { nonce: string; ts: number }) => signedConnect(newDevice(), challenge, { auth: { bootstrapToken: "code-x" } }))
      assert.strictEqual(again.error.details.code, "AUTH_RATE_LIMITED")
      // Adding the right token to a bootstrap guess does not get the guess through either.
      const mixed = yield* handshake(address, (challenge: { nonce: string; ts: number }) => signedConnect(newDevice(), challenge, { auth: { bootstrapToken: "code-y", token: TEST_TOKEN } }))
      assert.strictEqual(mixed.error.details.code, "AUTH_RATE_LIMITED")
      const token = yield* handshake(address, connectParams())
      assert.strictEqual(token.ok, true)
    }).pipe(Effect.provide(behindProxy())))
})
