import { assert, describe, it } from "@effect/vitest"
import { printable } from "../../src/text/printable.ts"

describe("strings shown to a person", () => {
  it("shows controls, ANSI escapes and bidi overrides as U+FFFD, so a name cannot move the cursor or reorder itself", () => {
    assert.strictEqual(printable("tablet\u001b[2J"), "tablet\ufffd[2J")
    assert.strictEqual(printable("evil\u202eexe.txt"), "evil\ufffdexe.txt")
    for (const c of ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u0085", "\u007f"]) {
      assert.strictEqual(printable(`a${c}b`), "a\ufffdb", `U+${c.charCodeAt(0).toString(16)}`)
    }
    assert.strictEqual(printable("kitchen tablet ☕"), "kitchen tablet ☕")
  })

  it("cuts at the limit with an ellipsis", () => {
    assert.strictEqual(printable("x".repeat(300), 10), `${"x".repeat(9)}…`)
  })
})
