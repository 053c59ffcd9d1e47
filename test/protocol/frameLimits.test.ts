import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { decodeFrame, decodeRequest, MAX_FRAME_DEPTH } from "../../src/protocol/frames.ts"
import { connectParams, coreLayer, openMemory } from "../helpers/testGateway.ts"

const failure = (text: string) => {
  const r = decodeFrame(text)
  return Result.isFailure(r) ? r.failure : assert.fail("expected a failure")
}

describe("work per frame is bounded and replies never echo the input", () => {
  it("thousands of unknown keys give one short issue", () => {
    const frame: Record<string, unknown> = { type: "req", id: "1", method: "health" }
    for (let i = 0; i < 5000; i++) frame[`k${i}-${"x".repeat(200)}`] = i
    const f = failure(JSON.stringify(frame))
    assert.isAtMost(f.message.length, 160)
    assert.notInclude(f.message, "x".repeat(40))
    assert.strictEqual(f.id, "1")
  })

  it("an oversized id is never echoed back", () => {
    assert.isUndefined(failure(JSON.stringify({ type: "req", id: "i".repeat(10_000), method: 5 })).id)
  })

  it("nesting deeper than the cap is refused before parsing", () => {
    const deep = `{"type":"req","id":"1","method":"health","params":${"[".repeat(MAX_FRAME_DEPTH + 1)}${"]".repeat(MAX_FRAME_DEPTH + 1)}}`
    assert.match(failure(deep).message, /nested deeper than 64 levels/)
    const quoted = JSON.stringify({ type: "req", id: "1", method: "health", params: { s: "[".repeat(10_000) } })
    assert.isTrue(Result.isSuccess(decodeFrame(quoted)))
  })

  it.prop("whatever the text, the answer is a small error or a frame", [Schema.String], ([text]) => {
    const r = decodeFrame(text)
    if (Result.isFailure(r)) assert.isAtMost(r.failure.message.length, 160)
  }, { arbitrary: { runs: 300 } })

  it.effect("a huge invalid request gets a small reply and the connection keeps serving", () =>
    Effect.gen(function*() {
      const c = yield* openMemory()
      yield* c.next
      yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams() })
      yield* c.nextMatching((f) => f.id === "c")
      const junk: Record<string, unknown> = { type: "req", id: "big", method: "health" }
      for (let i = 0; i < 20_000; i++) junk[`field${i}`] = "y".repeat(20)
      yield* c.pushText(JSON.stringify(junk))
      const reply = yield* c.nextMatching((f) => f.id === "big")
      assert.isAtMost(JSON.stringify(reply).length, 400)
      yield* c.push({ type: "req", id: "h", method: "health" })
      assert.strictEqual((yield* c.nextMatching((f) => f.id === "h")).ok, true)
    }).pipe(Effect.provide(coreLayer())))
})

describe("the request fast path", () => {
  const Req = Schema.Struct({
    type: Schema.Literals(["req", "res", "event"]),
    id: Schema.String,
    method: Schema.String,
    params: Schema.Unknown
  })
  it.prop("decodes exactly what the full decode accepts, to the same frame", [Schema.Union([Req, Schema.String, Schema.Json])], ([value]) => {
    const text = typeof value === "string" ? value : JSON.stringify(value)
    const fast = decodeRequest(text)
    const full = decodeFrame(text)
    assert.strictEqual(Result.isSuccess(fast), Result.isSuccess(full), text)
    if (Result.isSuccess(fast) && Result.isSuccess(full)) assert.deepStrictEqual(fast.success, full.success)
    if (Result.isFailure(fast) && Result.isFailure(full)) assert.deepStrictEqual(fast.failure, full.failure)
  }, { arbitrary: { runs: 500 } })

  it("falls back to the full answer for an extra key, a __proto__ key or a long id", () => {
    for (const text of [
      JSON.stringify({ type: "req", id: "1", method: "health", extra: 1 }),
      '{"type":"req","id":"1","method":"health","__proto__":{"x":1}}',
      JSON.stringify({ type: "req", id: "i".repeat(300), method: "health" })
    ]) assert.deepStrictEqual(decodeRequest(text), decodeFrame(text))
  })
})
