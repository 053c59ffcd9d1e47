import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { decodeFrame, decodeRequest, encodeFrame, Frame, MAX_FRAME_DEPTH } from "../../src/protocol/frames.ts"

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

// The shape scan reuses its arrays across frames: no frame's verdict may depend on the frames before it.
const Shape = Schema.Struct({
  depth: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 70 })),
  keys: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 4100 }))
})
const frameOf = ({ depth, keys }: typeof Shape.Type) => {
  const wide = `{${Array.from({ length: keys }, (_, i) => `"k${i}":${i}`).join(",")}}`
  return `{"type":"req","id":"1","method":"health","params":${"{\"a\":".repeat(depth - 1)}${wide}${"}".repeat(depth - 1)}}`
}
const verdict = (text: string) => {
  const r = decodeRequest(text)
  return Result.isSuccess(r) ? "ok" : r.failure.message
}

describe("the frame shape scan", () => {
  it.prop("judges each frame alone, whatever came before it", { shapes: Schema.Array(Shape).check(Schema.isMaxLength(6)) }, ({ shapes }) => {
    const texts = shapes.map(frameOf)
    const forward = texts.map(verdict)
    const backward = [...texts].reverse().map(verdict).reverse()
    assert.deepStrictEqual(forward, backward)
    // And as the limits say: deeper than the limit, or an object with more keys than the limit, is refused.
    shapes.forEach(({ depth, keys }, i) => {
      const refused = depth + 1 > MAX_FRAME_DEPTH || keys > 4096
      assert.strictEqual(forward[i] !== "ok", refused, `${depth} levels, ${keys} keys: ${forward[i]}`)
    })
  }, { arbitrary: { runs: 60 } })
})
