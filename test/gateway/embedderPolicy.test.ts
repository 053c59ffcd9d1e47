import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { RateLimiter } from "../../src/index.ts"
import { connectParams, coreLayer, openMemory } from "../helpers/testGateway.ts"

// An embedder's own policy, written only against the public contract: `budget`
// failures per address, then a fixed lockout of `lockMs` from the last failure.
const budgetPolicy = (budget: number, lockMs: number) =>
  Layer.effect(RateLimiter, Effect.gen(function*() {
    const state = yield* Ref.make(new Map<string, { readonly failures: number; readonly lastMs: number }>())
    return RateLimiter.of({
      check: (address) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const s = (yield* Ref.get(state)).get(address)
          const wait = s === undefined || s.failures < budget ? 0 : Math.max(0, s.lastMs + lockMs - now)
          return wait > 0 ? { _tag: "Refuse", retryAfterMs: wait } as const : { _tag: "Allow" } as const
        }),
      fail: (address) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          yield* Ref.update(state, (m) => {
            const prev = m.get(address)
            const expired = prev !== undefined && prev.failures >= budget && now >= prev.lastMs + lockMs
            return new Map(m).set(address, { failures: (expired ? 0 : prev?.failures ?? 0) + 1, lastMs: now })
          })
        }),
      // This policy forgives nothing: a right credential leaves the count as it is.
      succeed: () => Effect.void
    })
  }))

const attempt = (token: string) =>
  Effect.gen(function*() {
    const c = yield* openMemory()
    yield* c.next
    yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ auth: { token } }) })
    return yield* c.nextMatching((f) => f.id === "c")
  })

const Attempt = Schema.Struct({ right: Schema.Boolean, waitMs: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20_000 })) })

describe("an embedder's RateLimiter policy in a real gateway", () => {
  it.effect.prop(
    "refuses exactly when the embedder's policy says so, with its wait, and counts only wrong credentials",
    {
      budget: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4 })),
      lockMs: Schema.Int.check(Schema.isBetween({ minimum: 1_000, maximum: 30_000 })),
      attempts: Schema.Array(Attempt).check(Schema.isMinLength(1), Schema.isMaxLength(12))
    },
    ({ attempts, budget, lockMs }) =>
      Effect.gen(function*() {
        // The model: what the policy must decide for each attempt.
        let failures = 0
        let lastMs = 0
        let now = 0
        for (const a of attempts) {
          yield* TestClock.adjust(a.waitMs)
          now += a.waitMs
          if (failures >= budget && now >= lastMs + lockMs) failures = 0
          const locked = failures >= budget
          const res = yield* attempt(a.right ? "test-token-0123456789abcdef" : "wrong-token")
          if (locked) {
            assert.strictEqual(res.error?.details?.code, "AUTH_RATE_LIMITED")
            assert.strictEqual(res.error.retryAfterMs, lastMs + lockMs - now)
          } else if (a.right) {
            assert.strictEqual(res.ok, true)
          } else {
            assert.strictEqual(res.error?.details?.code, "AUTH_TOKEN_MISMATCH")
            failures++
            lastMs = now
          }
        }
      }).pipe(Effect.provide(coreLayer({}, undefined, { rateLimiter: budgetPolicy(budget, lockMs) }), { local: true })),
    { arbitrary: { runs: 40 } }
  )
})
