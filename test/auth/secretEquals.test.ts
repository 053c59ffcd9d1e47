import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { secretEquals } from "../../src/auth/secretEquals.ts"

const Secret = Schema.String.check(Schema.isMaxLength(40))

describe("secretEquals", () => {
  // The expected secret's digest is remembered between calls: switching secrets must never answer for the old one.
  it.prop("answers exactly whether the strings are equal, whatever secret was compared before", [Secret, Secret, Secret], ([a, b, before]) => {
    secretEquals(b, before)
    assert.strictEqual(secretEquals(a, b), a === b)
    assert.isTrue(secretEquals(b, b))
    assert.strictEqual(secretEquals(a, before), a === before)
    assert.strictEqual(secretEquals(before, b), before === b)
  }, { arbitrary: { runs: 300 } })

  it("a rotated secret refuses the old one at once", () => {
    assert.isTrue(secretEquals("token-old-0123456789", "token-old-0123456789"))
    assert.isFalse(secretEquals("token-old-0123456789", "token-new-0123456789"))
    assert.isTrue(secretEquals("token-new-0123456789", "token-new-0123456789"))
    assert.isFalse(secretEquals("", "token-new-0123456789"))
  })

  it("two different lone surrogates are different secrets", () => {
    assert.isFalse(secretEquals("token-\uD800", "token-\uDC00"))
    assert.isFalse(secretEquals("token-\uD800", "token-\uFFFD"))
    assert.isTrue(secretEquals("token-\uD800", "token-\uD800"))
  })
})
