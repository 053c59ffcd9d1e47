import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { emptyPairingState, PairingState, PENDING_TTL_MS, SETUP_CODE_TTL_MS } from "../../src/pairing/model.ts"
import * as Policy from "../../src/pairing/policy.ts"
import { OPERATOR_SCOPES, satisfies } from "../../src/protocol/scopes.ts"

const Idx = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 }))
const Role = Schema.Literals(["operator", "node"])
const Scopes = Schema.Array(Schema.Literals(OPERATOR_SCOPES)).check(Schema.isMaxLength(4))
const Op = Schema.Union([
  Schema.Struct({ op: Schema.Literal("ask"), device: Idx, role: Role, scopes: Scopes }),
  Schema.Struct({ op: Schema.Literal("approve"), pick: Idx, caller: Scopes }),
  Schema.Struct({ op: Schema.Literal("rotate"), device: Idx, role: Role, scopes: Scopes, caller: Scopes }),
  Schema.Struct({ op: Schema.Literal("revoke"), device: Idx, role: Role }),
  Schema.Struct({ op: Schema.Literal("remove"), device: Idx }),
  Schema.Struct({ op: Schema.Literal("connect"), device: Idx, role: Role, scopes: Scopes })
])
const Ops = Schema.Array(Op).check(Schema.isMaxLength(40))

const devices = [0, 1, 2, 3].map((i) => ({ deviceId: `device-${i}`, publicKey: `key-${i}` }))
const askFor = (i: number, role: string, scopes: ReadonlyArray<string>): Policy.Ask => ({
  ...devices[i]!,
  role,
  scopes: role === "operator" ? [...new Set(scopes)].sort() : [],
  clientId: "cli",
  clientMode: "cli",
  platform: "linux"
})

const freshAt = (now: number): Policy.Fresh => {
  let n = 0
  return { now, id: () => `req-${now}-${n++}`, token: () => `tok-${now}-${n++}` }
}

const tokensWithinApproved = (s: PairingState) => {
  for (const d of Object.values(s.paired)) {
    for (const t of Object.values(d.tokens)) {
      for (const scope of t.scopes) assert.isTrue(satisfies(d.approvedScopes, scope), `${d.deviceId} token ${scope} ⊄ ${d.approvedScopes}`)
    }
  }
}

describe("pairing policy", () => {
  it.prop("no sequence of requests, approvals, rotations and revocations lets a connection hold an unapproved scope", [Ops], ([ops]) => {
    let state = emptyPairingState
    let now = 0
    for (const o of ops) {
      now += 1000
      const fresh = freshAt(now)
      switch (o.op) {
        case "ask": {
          const ask = askFor(o.device, o.role, o.scopes)
          const reason = Policy.classify(state, ask)
          if (reason !== undefined) state = Policy.requestPairing(state, ask, reason, false, fresh).state
          break
        }
        case "approve": {
          const pending = Object.values(state.pending)
          const request = pending[o.pick % Math.max(1, pending.length)]
          if (request === undefined) break
          const r = Policy.approve(state, request.requestId, { _tag: "Operator", scopes: o.caller }, fresh)
          if (r.ok) {
            for (const s of request.scopes) assert.isTrue(satisfies(o.caller, s), "approved beyond the approver's scopes")
            state = r.state
          }
          break
        }
        case "rotate": {
          const r = Policy.rotate(state, devices[o.device]!.deviceId, o.role, o.scopes.length === 0 ? undefined : o.scopes, o.caller, fresh)
          if (r.ok) {
            for (const s of r.value.scopes) assert.isTrue(satisfies(o.caller, s), "rotated beyond the caller's scopes")
            state = r.state
          }
          break
        }
        case "revoke": {
          const r = Policy.revoke(state, devices[o.device]!.deviceId, o.role, now)
          if (r.ok) state = r.state
          break
        }
        case "remove": {
          const r = Policy.remove(state, devices[o.device]!.deviceId)
          if (r.ok) state = r.state
          break
        }
        case "connect": {
          const ask = askFor(o.device, o.role, o.scopes)
          const device = state.paired[ask.deviceId]
          const token = device?.tokens[o.role]?.token
          if (token !== undefined) {
            const check = Policy.verifyToken(state, ask.deviceId, ask.publicKey, ask.role, token, ask.scopes)
            if (check.ok) {
              for (const s of check.scopes) assert.isTrue(satisfies(device!.approvedScopes, s), "device token granted an unapproved scope")
              assert.isUndefined(device!.tokens[o.role]!.revokedAtMs, "a revoked token was accepted")
            }
          }
          if (Policy.classify(state, ask) === undefined) {
            const ensured = Policy.ensureToken(state, ask.deviceId, ask.role, ask.scopes, fresh)
            if (ensured !== undefined) {
              for (const s of ask.scopes) assert.isTrue(satisfies(state.paired[ask.deviceId]!.approvedScopes, s))
              state = ensured.state
            }
          }
          break
        }
      }
      tokensWithinApproved(state)
    }
  }, { arbitrary: { runs: 300 } })

  it("keeps the requestId of a repeated identical ask, and replaces it for a different one", () => {
    const ask = askFor(0, "operator", ["operator.read"])
    const first = Policy.requestPairing(emptyPairingState, ask, "not-paired", false, freshAt(1000))
    const again = Policy.requestPairing(first.state, { ...ask, remoteIp: "10.0.0.9" }, "not-paired", false, freshAt(5000))
    assert.isFalse(again.created)
    assert.strictEqual(again.request.requestId, first.request.requestId)
    assert.strictEqual(again.request.ts, 1000)
    const wider = Policy.requestPairing(again.state, { ...ask, scopes: ["operator.admin"] }, "not-paired", false, freshAt(6000))
    assert.isTrue(wider.created)
    assert.notStrictEqual(wider.request.requestId, first.request.requestId)
    assert.lengthOf(Object.keys(wider.state.pending), 1)
  })

  it("expires pending requests after 5 minutes and setup codes after 10", () => {
    const opened = Policy.requestPairing(emptyPairingState, askFor(0, "node", []), "not-paired", false, freshAt(0))
    const coded = Policy.addSetupCode(opened.state, "code-1", "node", [], 0, SETUP_CODE_TTL_MS).state
    assert.lengthOf(Object.keys(Policy.prune(coded, PENDING_TTL_MS - 1).pending), 1)
    assert.lengthOf(Object.keys(Policy.prune(coded, PENDING_TTL_MS).pending), 0)
    assert.isTrue(Policy.redeemSetupCode(coded, "code-1", "device-1", "node", [], SETUP_CODE_TTL_MS - 1).ok)
    assert.isFalse(Policy.redeemSetupCode(coded, "code-1", "device-1", "node", [], SETUP_CODE_TTL_MS).ok)
  })

  it("spends a setup code once and keeps it bound to its role and scopes", () => {
    const s = Policy.addSetupCode(emptyPairingState, "code-2", "operator", ["operator.read"], 0, SETUP_CODE_TTL_MS).state
    assert.isFalse(Policy.redeemSetupCode(s, "code-2", "d", "operator", ["operator.admin"], 1).ok)
    assert.isFalse(Policy.redeemSetupCode(s, "code-2", "d", "node", [], 1).ok)
    const spent = Policy.redeemSetupCode(s, "code-2", "d", "operator", ["operator.read"], 1)
    assert.isTrue(spent.ok)
    if (spent.ok) assert.isFalse(Policy.redeemSetupCode(spent.state, "code-2", "e", "operator", [], 2).ok)
    assert.notInclude(JSON.stringify(s), "code-2")
  })

  it.prop("the stored state round-trips through its JSON encoding", [PairingState], ([state]) => {
    const codec = Schema.fromJsonString(PairingState)
    const decoded = Schema.decodeUnknownResult(codec)(Schema.encodeSync(codec)(state))
    assert.isTrue(Result.isSuccess(decoded))
    // structuredClone only normalizes the arbitrary's null-prototype records.
    if (Result.isSuccess(decoded)) assert.deepStrictEqual(decoded.success, structuredClone(state))
  })
})
