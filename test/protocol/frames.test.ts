import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import { decodeFrame, encodeFrame, Frame } from "../../src/protocol/frames.ts"

describe("frames", () => {
  it("rejects non-JSON, wrong types and unknown keys with a reason", () => {
    const cases: Array<[string, RegExp]> = [
      ["not json", /JSON/],
      [JSON.stringify({ type: "req", id: "1", method: 3 }), /method/],
      [JSON.stringify({ type: "req", id: "", method: "health" }), /id/],
      [JSON.stringify({ type: "req", id: "1", method: "health", extra: true }), /extra/],
      [JSON.stringify({ type: "nope" }), /Expected/],
      [JSON.stringify([1, 2]), /Expected/]
    ]
    for (const [text, reason] of cases) {
      const r = decodeFrame(text)
      assert.isTrue(Result.isFailure(r), text)
      if (Result.isFailure(r)) assert.match(r.failure.message, reason, text)
    }
  })

  it("keeps the request id of a malformed request so it can be answered", () => {
    const r = decodeFrame(JSON.stringify({ type: "req", id: "42", method: "health", bogus: 1 }))
    assert.isTrue(Result.isFailure(r) && r.failure.id === "42")
  })

  it("accepts a request without params", () => {
    const r = decodeFrame(JSON.stringify({ type: "req", id: "1", method: "health" }))
    assert.isTrue(Result.isSuccess(r))
  })

  it.prop("encode then decode is the identity", [Frame], ([frame]) => {
    const r = decodeFrame(encodeFrame(frame))
    assert.isTrue(Result.isSuccess(r))
    if (Result.isSuccess(r)) assert.deepStrictEqual(JSON.parse(encodeFrame(r.success)), JSON.parse(encodeFrame(frame)))
  }, { arbitrary: { runs: 500 } })
})
