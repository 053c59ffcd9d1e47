import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { checkAccess } from "../../src/layers/AuthorizeLive.ts"
import { anyone, type MethodAccess, nodeOnly, operator } from "../../src/protocol/access.ts"
import { GatewayRpcs } from "../../src/protocol/methods.ts"
import { MethodAccess as MethodAccessRef } from "../../src/protocol/access.ts"
import { grant, OPERATOR_SCOPES, satisfies } from "../../src/protocol/scopes.ts"
import * as Context from "effect/Context"

const Scope = Schema.Literals([...OPERATOR_SCOPES, "operator.bogus", "node.camera", "admin"])
const Scopes = Schema.Array(Scope)
const Role = Schema.Literals(["operator", "node"])
const Access = Schema.Union([
  Schema.Struct({ _tag: Schema.Literal("Anyone") }),
  Schema.Struct({ _tag: Schema.Literal("Node") }),
  Schema.Struct({ _tag: Schema.Literal("Operator"), scope: Schema.Literals(OPERATOR_SCOPES) })
])

describe("scope policy", () => {
  it.prop("a grant never exceeds what was asked for nor what is allowed", [Scopes, Scopes], ([requested, allowed]) => {
    const granted = grant(requested, allowed)
    for (const s of granted) {
      assert.include(requested, s)
      assert.isTrue(satisfies(allowed, s))
    }
  })

  it.prop("a grant keeps only known operator scopes, sorted and unique", [Scopes], ([requested]) => {
    const granted = grant(requested, OPERATOR_SCOPES)
    assert.deepStrictEqual([...granted], [...new Set(granted)].sort())
    for (const s of granted) assert.include(OPERATOR_SCOPES, s)
  })

  it.prop("admin satisfies every scope and write satisfies read, nothing else implies", [Scopes, Schema.Literals(OPERATOR_SCOPES)], ([held, required]) => {
    const expected = held.includes(required) || held.includes("operator.admin") ||
      (required === "operator.read" && held.includes("operator.write"))
    assert.strictEqual(satisfies(held, required), expected)
  })

  it.prop("access is allowed only by the method's rule", [Access, Role, Scopes], ([access, role, scopes]) => {
    const refusal = checkAccess(access as MethodAccess, { role, scopes })
    const allowed = access._tag === "Anyone" ||
      (access._tag === "Node" && role === "node") ||
      (access._tag === "Operator" && role === "operator" && satisfies(scopes, access.scope))
    assert.strictEqual(refusal === undefined, allowed)
  })

  it("classifies every served method, and health is open to anyone", () => {
    for (const [name, rpc] of GatewayRpcs.requests) {
      const access = Context.get(rpc.annotations, MethodAccessRef)
      const expected = name === "health"
        ? anyone
        : ["node.invoke.result", "node.event", "node.runnerInventory.update", "node.skills.update", "node.pluginTools.update"].includes(name)
        ? nodeOnly
        : name.startsWith("device.") || name.startsWith("node.pair.") || name.startsWith("channels.pairing.") || name === "node.rename"
        ? operator("operator.pairing")
        : ["node.invoke", "send", "message.action", "chat.send", "chat.abort", "agent", "agent.wait"].includes(name)
        ? operator("operator.write")
        : operator("operator.read")
      assert.deepStrictEqual(access, expected, name)
    }
  })
})
