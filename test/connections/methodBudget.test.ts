import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { METHOD_CLASSES, MethodRates, methodClass } from "../../src/connections/methodBudget.ts"

describe("method rates", () => {
  it.prop("for any request times, a class never admits more than its burst plus what refills in the span", [
    Schema.Literals(["invoke", "pairingWrite", "probe", "subscribe"]),
    Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 400 }))).check(Schema.isMaxLength(600))
  ], ([cls, gaps]) => {
    const rates = new MethodRates()
    const policy = METHOD_CLASSES[cls]
    const admitted: Array<number> = []
    let now = 0
    for (const gap of gaps) {
      now += gap
      const take = rates.take(cls, now)
      if (take.ok) admitted.push(now)
      else assert.isAbove(take.retryAfterMs, 0)
    }
    for (let i = 0; i < admitted.length; i++) {
      for (let j = i; j < admitted.length; j++) {
        const span = admitted[j]! - admitted[i]!
        assert.isAtMost(j - i + 1, policy.burst + (span * policy.perSecond) / 1000 + 1e-9)
      }
    }
  }, { arbitrary: { runs: 100 } })

  it("answers from nodes and plain reads are never throttled; the table of a connection has one bucket per class", () => {
    for (const m of ["node.invoke.result", "node.event", "gateway.identity.get", "node.list", "config.get", "health"]) assert.isUndefined(methodClass(m))
    for (const m of ["node.invoke", "device.pair.approve", "status", "node.events.subscribe"]) assert.isDefined(methodClass(m))
  })
})
