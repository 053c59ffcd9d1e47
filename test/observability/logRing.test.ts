import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { makeLogRing } from "../../src/observability/logRing.ts"

const Line = Schema.String.check(Schema.isMaxLength(40))
const bytes = (lines: ReadonlyArray<string>) => lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)

describe("the log ring behind logs.tail", () => {
  it.prop("stays within its caps and a follower sees every kept line once, in order", {
    batches: Schema.Array(Schema.Array(Line).check(Schema.isMaxLength(30))).check(Schema.isMaxLength(12)),
    maxLines: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 })),
    limit: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 80 }))
  }, ({ batches, limit, maxLines }) => {
    const ring = makeLogRing({ maxLines, maxBytes: 600 })
    let cursor: number | undefined = undefined
    let written = 0
    for (const batch of batches) {
      for (const line of batch) ring.append(line)
      const all: Array<string> = []
      // Read until caught up; lines the ring dropped are reported, never replayed.
      for (;;) {
        const slice = ring.tail({ cursor, limit, maxBytes: 10_000 })
        all.push(...slice.lines)
        assert.isAtMost(slice.lines.length, limit)
        assert.strictEqual(slice.cursor, slice.size)
        if (slice.lines.length < limit || slice.cursor === cursor) {
          cursor = slice.cursor
          break
        }
        cursor = slice.cursor
      }
      written += bytes(batch)
      assert.strictEqual(cursor, written)
      const everything = ring.tail({ limit: 5000, maxBytes: 1_000_000 }).lines
      assert.isAtMost(everything.length, maxLines)
      assert.isAtMost(bytes(everything), Math.max(600, bytes(everything.slice(-1))))
      // What the follower got is the newest part of this batch that fit.
      assert.deepStrictEqual(all, batch.slice(batch.length - all.length))
    }
  }, { arbitrary: { runs: 200 } })

  it("continues after a cursor, resets on a cursor it cannot continue from", () => {
    const ring = makeLogRing({ maxLines: 3, maxBytes: 1000 })
    ring.append("a")
    ring.append("b")
    const first = ring.tail({ limit: 10, maxBytes: 1000 })
    assert.deepStrictEqual(first, { cursor: 4, size: 4, lines: ["a", "b"], truncated: false, reset: false })
    ring.append("c")
    assert.deepStrictEqual(ring.tail({ cursor: first.cursor, limit: 10, maxBytes: 1000 }).lines, ["c"])
    assert.deepStrictEqual(ring.tail({ cursor: 6, limit: 10, maxBytes: 1000 }).lines, [])
    // From before a restart (larger than anything written): the newest lines, flagged.
    const restarted = ring.tail({ cursor: 999, limit: 10, maxBytes: 1000 })
    assert.deepStrictEqual([restarted.lines, restarted.reset], [["a", "b", "c"], true])
    ring.append("d")
    ring.append("e")
    // "a" and "b" were dropped after cursor 0: the follower is told lines were lost.
    const lost = ring.tail({ cursor: 0, limit: 10, maxBytes: 1000 })
    assert.deepStrictEqual([lost.lines, lost.reset, lost.truncated], [["c", "d", "e"], true, true])
    // The byte budget keeps the newest lines.
    const small = ring.tail({ limit: 10, maxBytes: 4 })
    assert.deepStrictEqual([small.lines, small.truncated], [["d", "e"], true])
  })
})
