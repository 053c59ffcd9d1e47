import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { HealthSummary } from "../../src/protocol/rpcs/core.ts"

const codec = Schema.toCodecJson(HealthSummary)
const summary = {
  ok: true, ts: 1, durationMs: 0, channels: { web: { up: true } }, channelOrder: ["web"], channelLabels: { web: "Web" },
  heartbeatSeconds: 0, defaultAgentId: "main", agents: [{ id: "main" }], sessions: { path: "sessions", count: 0, recent: [] }
}

describe("the health summary's wire codec", () => {
  it("keeps what another gateway reports beyond the declared keys, as it came", () => {
    const wire = { ...summary, plugins: { loaded: ["a"], nested: [1, null, "x"] } }
    const decoded = Schema.decodeUnknownResult(codec)(wire)
    assert.isTrue(Result.isSuccess(decoded))
    assert.deepStrictEqual(Result.getOrThrow(decoded), wire)
  })

  it("encodes the gateway's own summary as the same JSON", () => {
    const encoded = Schema.encodeUnknownResult(codec)(summary)
    assert.strictEqual(JSON.stringify(Result.getOrThrow(encoded)), JSON.stringify(summary))
  })

  it("still checks the declared keys: a wrong type is refused both ways", () => {
    assert.isTrue(Result.isFailure(Schema.decodeUnknownResult(codec)({ ...summary, ok: "yes" })))
    assert.isTrue(Result.isFailure(Schema.encodeUnknownResult(codec)({ ...summary, ts: "now" })))
  })
})
