import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { resolveNodeRef } from "../../src/nodes/nodeRef.ts"

const a = { nodeId: "a1b2c3d4e5f6aaaa", displayName: "kitchen" }
const b = { nodeId: "a1b2c3d4e5f6bbbb", displayName: "office" }
const c = { nodeId: "ffff00001111cccc", displayName: "a1b2c3d4" }
const d = { nodeId: "9999888877776666", displayName: "office" }

describe("node references on the command line", () => {
  it("takes an exact id, a unique name or a unique prefix of 6 or more", () => {
    assert.deepStrictEqual(resolveNodeRef([a, b, c], "a1b2c3d4e5f6aaaa"), { _tag: "Found", node: a })
    assert.deepStrictEqual(resolveNodeRef([a, b, c], "kitchen"), { _tag: "Found", node: a })
    assert.deepStrictEqual(resolveNodeRef([a, c], "a1b2c3d4e5"), { _tag: "Found", node: a })
    assert.deepStrictEqual(resolveNodeRef([a, b], "a1b2c"), { _tag: "NotFound" })
  })

  it("refuses a prefix of several ids, a shared name, and a name that is another node's id prefix", () => {
    assert.deepStrictEqual(resolveNodeRef([a, b], "a1b2c3d4e5f6"), { _tag: "Ambiguous", candidates: [a, b] })
    assert.deepStrictEqual(resolveNodeRef([b, d], "office"), { _tag: "Ambiguous", candidates: [b, d] })
    assert.deepStrictEqual(resolveNodeRef([a, c], "a1b2c3d4"), { _tag: "Ambiguous", candidates: [a, c] })
  })

  it.prop("a reference resolves to a node only when no other node fits it", {
    ids: Schema.Array(Schema.String.check(Schema.isPattern(/^[0-9a-f]{8}$/))).check(Schema.isMaxLength(8)),
    names: Schema.Array(Schema.String.check(Schema.isPattern(/^[a-f0-9]{6,8}$/))).check(Schema.isMaxLength(8)),
    ref: Schema.String.check(Schema.isPattern(/^[0-9a-f]{6,8}$/))
  }, ({ ids, names, ref }) => {
    const nodes = [...new Set(ids)].map((nodeId, i) => ({ nodeId, displayName: names[i] }))
    const r = resolveNodeRef(nodes, ref)
    const fits = nodes.filter((n) => n.nodeId === ref || n.displayName === ref || n.nodeId.startsWith(ref))
    if (r._tag === "Found") assert.isTrue(r.node.nodeId === ref || fits.length === 1)
    if (r._tag === "NotFound") assert.lengthOf(fits, 0)
    if (r._tag === "Ambiguous") assert.isAbove(r.candidates.length, 1)
  }, { arbitrary: { runs: 300 } })
})
