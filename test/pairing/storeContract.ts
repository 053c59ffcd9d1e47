/**
 * The contract every pairing store layer keeps (file, memory, PostgreSQL): the
 * PairingStore and NodePairingStore operations, their refusals, expiry by the
 * Clock, and atomicity under concurrency. Layers that can be shared by several
 * gateways also show that two instances on one state see each other's writes and
 * never lose one another's updates.
 */
import { assert, layer } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import type { Ask } from "../../src/pairing/policy.ts"
import { DEFAULT_PENDING_BUDGET } from "../../src/pairing/pendingBudget.ts"
import type { NodeSurface } from "../../src/nodes/pairingPolicy.ts"
import { NodePairingStore, type NodePairingStoreShape } from "../../src/services/NodePairingStore.ts"
import { PairingStore, type PairingStoreShape } from "../../src/services/PairingStore.ts"

/** Both pairing stores, as every pairing store layer provides them. */
export type Stores = PairingStore | NodePairingStore

export interface ContractOptions<R> {
  /** What building `fresh` needs (a database server), built once for the suite. */
  readonly env?: Layer.Layer<R, unknown>
  /** Two instances ("two gateways") over one fresh shared state, for layers that can be shared. */
  readonly twoGateways?: Effect.Effect<readonly [Layer.Layer<Stores, unknown>, Layer.Layer<Stores, unknown>], unknown, R>
}

/** Runs the pairing store contract against `fresh`, which must build a new, empty store every time. */
export const pairingStoreContract = <R>(name: string, fresh: Layer.Layer<Stores, unknown, R>, options: ContractOptions<R> = {}) =>
  layer(options.env ?? (Layer.empty as Layer.Layer<R>), { timeout: "60 seconds" })(name, (it) => {
    // Layer.fresh: one store per test, never one memoized across tests.
    const withStores = <A, E>(body: (s: { devices: PairingStoreShape; nodes: NodePairingStoreShape }) => Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        const devices = yield* PairingStore
        const nodes = yield* NodePairingStore
        return yield* body({ devices, nodes })
      }).pipe(Effect.provide(Layer.fresh(fresh)))

    it.effect("admit opens one request per device; a retry keeps its id; list and request show it", () =>
      withStores(({ devices }) =>
        Effect.gen(function*() {
          const a = ask()
          const first = yield* devices.admit(a, false)
          assert(first._tag === "Requested")
          assert.isTrue(first.created)
          assert.strictEqual(first.request.deviceId, a.deviceId)
          const again = yield* devices.admit(a, false)
          assert(again._tag === "Requested")
          assert.isFalse(again.created)
          assert.strictEqual(again.request.requestId, first.request.requestId)
          const listed = yield* devices.list
          assert.deepStrictEqual(listed.pending.map((p) => p.requestId), [first.request.requestId])
          assert.lengthOf(listed.paired, 0)
          assert.strictEqual((yield* devices.request(first.request.requestId))?.deviceId, a.deviceId)
          assert.isUndefined(yield* devices.request("no-such-request"))
        })))

    it.effect("approve pairs with a token; admit then hands out that token; verifyToken checks it", () =>
      withStores(({ devices }) =>
        Effect.gen(function*() {
          const a = ask()
          const requestId = yield* requested(devices, a)
          const device = yield* devices.approve(requestId, OWNER)
          assert.strictEqual(device.deviceId, a.deviceId)
          assert.strictEqual(device.approvedVia, "owner")
          const token = device.tokens.operator!.token
          assert.match(token, /^[A-Za-z0-9_-]{43}$/)
          const admitted = yield* devices.admit(a, false)
          assert(admitted._tag === "Paired")
          assert.strictEqual(admitted.token.token, token)
          assert.deepStrictEqual(yield* devices.verifyToken(a, token), { ok: true, scopes: ["operator.read"] })
          assert.deepStrictEqual(yield* devices.verifyToken(a, "not-the-token"), { ok: false, reason: "mismatch" })
          assert.deepStrictEqual(yield* devices.verifyToken(ask(), token), { ok: false, reason: "not-paired" })
          const listed = yield* devices.list
          assert.lengthOf(listed.pending, 0)
          assert.deepStrictEqual(listed.paired.map((d) => d.deviceId), [a.deviceId])
        })))

    it.effect("an operator without the requested scopes cannot approve; a silent admit approves at once", () =>
      withStores(({ devices }) =>
        Effect.gen(function*() {
          const a = ask({ scopes: ["operator.admin"] })
          const requestId = yield* requested(devices, a)
          const refused = yield* Effect.flip(devices.approve(requestId, { _tag: "Operator", scopes: ["operator.read"] }))
          assert.deepInclude(refused.reason, { _tag: "PairingRefused", code: "caller-missing-scope" })
          const silent = yield* devices.admit(ask(), true)
          assert.strictEqual(silent._tag, "Approved")
        })))

    it.effect("rotate replaces a token, revoke disables it, remove forgets the device", () =>
      withStores(({ devices }) =>
        Effect.gen(function*() {
          const a = ask()
          const first = (yield* devices.approve(yield* requested(devices, a), OWNER)).tokens.operator!.token
          const rotated = yield* devices.rotate(a.deviceId, "operator", undefined, OWNER.scopes)
          assert.notStrictEqual(rotated.token, first)
          assert.deepStrictEqual(yield* devices.verifyToken(a, first), { ok: false, reason: "mismatch" })
          assert.isTrue((yield* devices.verifyToken(a, rotated.token)).ok)
          const revoked = yield* devices.revoke(a.deviceId, "operator")
          assert.isDefined(revoked.revokedAtMs)
          assert.deepStrictEqual(yield* devices.verifyToken(a, rotated.token), { ok: false, reason: "revoked" })
          const wrongRole = yield* Effect.flip(devices.rotate(a.deviceId, "node", undefined, OWNER.scopes))
          assert.deepInclude(wrongRole.reason, { code: "role-not-approved" })
          const removed = yield* devices.remove(a.deviceId)
          assert.strictEqual(removed.deviceId, a.deviceId)
          assert.deepStrictEqual(yield* devices.verifyToken(a, rotated.token), { ok: false, reason: "not-paired" })
          const again = yield* Effect.flip(devices.remove(a.deviceId))
          assert.deepInclude(again.reason, { _tag: "PairingRefused", code: "unknown-device" })
        })))

    it.effect("reject drops a request; approving it afterwards is an unknown request", () =>
      withStores(({ devices }) =>
        Effect.gen(function*() {
          const requestId = yield* requested(devices, ask())
          const rejected = yield* devices.reject(requestId)
          assert.strictEqual(rejected.requestId, requestId)
          assert.lengthOf((yield* devices.list).pending, 0)
          const late = yield* Effect.flip(devices.approve(requestId, OWNER))
          assert.deepInclude(late.reason, { _tag: "PairingRefused", code: "unknown-request" })
          const twice = yield* Effect.flip(devices.reject(requestId))
          assert.deepInclude(twice.reason, { code: "unknown-request" })
        })))

    it.effect("a setup code pairs one device within its profile, once", () =>
      withStores(({ devices }) =>
        Effect.gen(function*() {
          const code = yield* devices.createSetupCode("node", [])
          assert.strictEqual(code.expiresAtMs - (yield* Clock.currentTimeMillis), 10 * 60 * 1000)
          const wrongRole = yield* Effect.flip(devices.redeemSetupCode(ask({ scopes: [] }), code.token))
          assert.deepInclude(wrongRole.reason, { code: "setup-code-invalid" })
          const a = ask({ role: "node", scopes: [] })
          const token = yield* devices.redeemSetupCode(a, code.token)
          assert.strictEqual(token.role, "node")
          assert.isTrue((yield* devices.verifyToken(a, token.token)).ok)
          const reused = yield* Effect.flip(devices.redeemSetupCode(ask({ role: "node", scopes: [] }), code.token))
          assert.deepInclude(reused.reason, { code: "setup-code-invalid" })
          const unknown = yield* Effect.flip(devices.redeemSetupCode(ask({ role: "node", scopes: [] }), "made-up"))
          assert.deepInclude(unknown.reason, { code: "setup-code-invalid" })
        })))

    it.effect("a pending request expires after 5 minutes and a setup code after 10 (TestClock)", () =>
      withStores(({ devices, nodes }) =>
        Effect.gen(function*() {
          const requestId = yield* requested(devices, ask())
          const nodeRequest = yield* nodes.request(surface())
          const code = yield* devices.createSetupCode("node", [])
          yield* TestClock.adjust("299 seconds")
          assert.lengthOf((yield* devices.list).pending, 1)
          assert.lengthOf((yield* nodes.list).pending, 1)
          yield* TestClock.adjust("1 second")
          assert.lengthOf((yield* devices.list).pending, 0)
          assert.lengthOf((yield* nodes.list).pending, 0)
          assert.isUndefined(yield* devices.request(requestId))
          const late = yield* Effect.flip(devices.approve(requestId, OWNER))
          assert.deepInclude(late.reason, { code: "unknown-request" })
          const lateNode = yield* Effect.flip(nodes.approve(nodeRequest.request.requestId, OWNER.scopes))
          assert.deepInclude(lateNode.reason, { code: "unknown-request" })
          yield* TestClock.adjust("5 minutes")
          const expired = yield* Effect.flip(devices.redeemSetupCode(ask({ role: "node", scopes: [] }), code.token))
          assert.deepInclude(expired.reason, { code: "setup-code-invalid" })
        })))

    it.effect("8 concurrent redeems of one setup code: exactly one device pairs", () =>
      withStores(({ devices }) =>
        Effect.gen(function*() {
          const code = yield* devices.createSetupCode("node", [])
          const results = yield* Effect.forEach(
            Array.from({ length: 8 }, () => ask({ role: "node", scopes: [] })),
            (a) => Effect.result(devices.redeemSetupCode(a, code.token)),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(results.filter((r) => r._tag === "Success").length, 1)
          assert.lengthOf((yield* devices.list).paired, 1)
        })))

    it.effect("concurrent approvals of one request: exactly one succeeds", () =>
      withStores(({ devices }) =>
        Effect.gen(function*() {
          const requestId = yield* requested(devices, ask())
          const results = yield* Effect.forEach(
            Array.from({ length: 8 }),
            () => Effect.result(devices.approve(requestId, OWNER)),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(results.filter((r) => r._tag === "Success").length, 1)
          assert.lengthOf((yield* devices.list).paired, 1)
        })))

    it.effect("concurrent changes to different devices are all kept", () =>
      withStores(({ devices }) =>
        Effect.gen(function*() {
          const asks = Array.from({ length: 12 }, () => ask())
          yield* Effect.forEach(asks, (a) => Effect.flatMap(requested(devices, a), (id) => devices.approve(id, OWNER)), { concurrency: "unbounded" })
          assert.sameMembers((yield* devices.list).paired.map((d) => d.deviceId), asks.map((a) => a.deviceId))
        })))

    it.effect("node pairing: reconcile, approve, current, new commands, rename, forget", () =>
      withStores(({ nodes }) =>
        Effect.gen(function*() {
          const s = surface()
          const opened = yield* nodes.reconcile(s, false)
          assert(opened._tag === "Requested")
          assert.deepStrictEqual((yield* nodes.node(s.nodeId)).pending?.requestId, opened.request.requestId)
          const tooWeak = yield* Effect.flip(nodes.approve(opened.request.requestId, ["operator.pairing"]))
          assert.deepInclude(tooWeak.reason, { code: "caller-missing-scope" })
          const paired = yield* nodes.approve(opened.request.requestId, OWNER.scopes)
          assert.deepStrictEqual(paired.commands, ["camera.snap"])
          assert.strictEqual((yield* nodes.reconcile(s, false))._tag, "Current")
          const grown = yield* nodes.reconcile({ ...s, commands: ["camera.snap", "screen.record"] }, false)
          assert(grown._tag === "Requested")
          const rejected = yield* nodes.reject(grown.request.requestId)
          assert.strictEqual(rejected.nodeId, s.nodeId)
          const renamed = yield* nodes.rename(s.nodeId, "kitchen tablet")
          assert.strictEqual(renamed.displayName, "kitchen tablet")
          assert.strictEqual(renamed.token, paired.token)
          const listed = yield* nodes.list
          assert.deepStrictEqual(listed.paired.map((n) => n.displayName), ["kitchen tablet"])
          yield* nodes.forget(s.nodeId)
          assert.deepStrictEqual(yield* nodes.node(s.nodeId), { paired: undefined, pending: undefined })
          const unknown = yield* Effect.flip(nodes.rename(s.nodeId, "gone"))
          assert.deepInclude(unknown.reason, { code: "unknown-device" })
          const silent = yield* nodes.reconcile(surface(), true)
          assert.strictEqual(silent._tag, "Approved")
        })))

    it.effect("pending requests are budgeted: 16 waiting per address (an IPv6 /64, IPv4-mapped spellings folded), 256 in all; a refresh always fits; expiry frees the budget", () =>
      withStores(({ devices }) =>
        Effect.gen(function*() {
          const spellings = ["2001:db8:9:9::1", "2001:db8:9:9::2", "2001:db8:9:9:a::b"]
          const first = ask({ remoteIp: spellings[0] })
          yield* requested(devices, first)
          for (let i = 1; i < DEFAULT_PENDING_BUDGET.perAddress; i++) yield* requested(devices, ask({ remoteIp: spellings[i % 3] }))
          const refused = yield* Effect.flip(devices.admit(ask({ remoteIp: "2001:db8:9:9::77" }), false))
          assert(refused.reason._tag === "PairingRefused")
          assert.strictEqual(refused.reason.code, "pending-limit")
          assert.include(refused.reason.message, "from this address")
          // Its own request refreshes; a silent (local) admit never waits; another address still fits.
          assert.strictEqual((yield* devices.admit(first, false))._tag, "Requested")
          assert.strictEqual((yield* devices.admit(ask({ remoteIp: "2001:db8:9:9::78" }), true))._tag, "Approved")
          yield* requested(devices, ask({ remoteIp: "::ffff:198.51.100.1" }))
          // Fill the store from many addresses up to its total.
          for (let i = DEFAULT_PENDING_BUDGET.perAddress + 1; i < DEFAULT_PENDING_BUDGET.total; i++) {
            yield* requested(devices, ask({ remoteIp: `198.18.${i >> 4}.${i & 15}` }))
          }
          assert.lengthOf((yield* devices.list).pending, DEFAULT_PENDING_BUDGET.total)
          const full = yield* Effect.flip(devices.admit(ask({ remoteIp: "203.0.113.250" }), false))
          assert(full.reason._tag === "PairingRefused")
          assert.strictEqual(full.reason.code, "pending-limit")
          assert.include(full.reason.message, `at most ${DEFAULT_PENDING_BUDGET.total}`)
          yield* TestClock.adjust("6 minutes")
          yield* requested(devices, ask({ remoteIp: "203.0.113.250" }))
        })), 120_000)

    it.effect("pending node requests are budgeted per address too, for connects and operator requests alike", () =>
      withStores(({ nodes }) =>
        Effect.gen(function*() {
          for (let i = 0; i < DEFAULT_PENDING_BUDGET.perAddress; i++) {
            const r = yield* nodes.reconcile({ ...surface(), remoteIp: i % 2 === 0 ? "203.0.113.9" : "::ffff:203.0.113.9" }, false)
            assert.strictEqual(r._tag, "Requested")
          }
          const over = yield* Effect.flip(nodes.reconcile({ ...surface(), remoteIp: "203.0.113.9" }, false))
          assert(over.reason._tag === "PairingRefused")
          assert.strictEqual(over.reason.code, "pending-limit")
          const asked = yield* Effect.flip(nodes.request({ ...surface(), remoteIp: "203.0.113.9" }))
          assert(asked.reason._tag === "PairingRefused")
          assert.strictEqual((yield* nodes.reconcile({ ...surface(), remoteIp: "203.0.113.10" }, false))._tag, "Requested")
        })))

    const twoGateways = options.twoGateways
    if (twoGateways === undefined) return

    // Two instances of the layer over one state, as two gateways sharing a database would run.
    const withTwo = <A, E>(body: (a: PairingStoreShape, b: PairingStoreShape) => Effect.Effect<A, E>) =>
      Effect.scoped(Effect.gen(function*() {
        const [layerA, layerB] = yield* twoGateways
        const a = yield* Layer.build(layerA)
        const b = yield* Layer.build(layerB)
        return yield* body(Context.get(a, PairingStore), Context.get(b, PairingStore))
      }))

    it.effect("two gateways: the pending budget is counted by the shared store, not per gateway", () =>
      withTwo((a, b) =>
        Effect.gen(function*() {
          for (let i = 0; i < DEFAULT_PENDING_BUDGET.perAddress; i++) yield* requested(i % 2 === 0 ? a : b, ask({ remoteIp: "192.0.2.44" }))
          const refused = yield* Effect.flip(b.admit(ask({ remoteIp: "192.0.2.44" }), false))
          assert(refused.reason._tag === "PairingRefused")
          assert.strictEqual(refused.reason.code, "pending-limit")
        })))

    it.effect("two gateways: a device approved through one is verified through the other", () =>
      withTwo((a, b) =>
        Effect.gen(function*() {
          const d = ask()
          const requestId = yield* requested(a, d)
          assert.strictEqual((yield* b.request(requestId))?.deviceId, d.deviceId)
          const token = (yield* a.approve(requestId, OWNER)).tokens.operator!.token
          assert.isTrue((yield* b.verifyToken(d, token)).ok)
          yield* b.revoke(d.deviceId, "operator")
          assert.deepStrictEqual(yield* a.verifyToken(d, token), { ok: false, reason: "revoked" })
        })))

    it.effect("two gateways changing different devices at once lose no update", () =>
      withTwo((a, b) =>
        Effect.gen(function*() {
          const asks = Array.from({ length: 16 }, () => ask())
          yield* Effect.forEach(
            asks,
            (d, i) => {
              const store = i % 2 === 0 ? a : b
              return Effect.flatMap(requested(store, d), (id) => store.approve(id, OWNER))
            },
            { concurrency: "unbounded" }
          )
          assert.sameMembers((yield* a.list).paired.map((d) => d.deviceId), asks.map((d) => d.deviceId))
          assert.sameMembers((yield* b.list).paired.map((d) => d.deviceId), asks.map((d) => d.deviceId))
        })))

    it.effect("two gateways: one setup code redeemed 8 times across both pairs exactly one device", () =>
      withTwo((a, b) =>
        Effect.gen(function*() {
          const code = yield* a.createSetupCode("node", [])
          const results = yield* Effect.forEach(
            Array.from({ length: 8 }, (_, i) => i),
            (i) => Effect.result((i % 2 === 0 ? a : b).redeemSetupCode(ask({ role: "node", scopes: [] }), code.token)),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(results.filter((r) => r._tag === "Success").length, 1)
        })))
  })

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const OWNER = { _tag: "Operator", scopes: ["operator.admin", "operator.pairing", "operator.read", "operator.write"] } as const

let devicesMade = 0

const ask = (overrides: Partial<Ask> = {}): Ask => {
  const deviceId = `device-${process.pid}-${++devicesMade}`
  return { deviceId, publicKey: `key-${deviceId}`, role: "operator", scopes: ["operator.read"], clientId: "cli", clientMode: "cli", ...overrides }
}

let nodesMade = 0

const surface = (): NodeSurface => ({ nodeId: `node-${process.pid}-${++nodesMade}`, caps: ["camera"], commands: ["camera.snap"], platform: "android" })

/** Opens a request for `a` and returns its id. */
const requested = (devices: PairingStoreShape, a: Ask) =>
  Effect.flatMap(devices.admit(a, false), (r) => (r._tag === "Requested" ? Effect.succeed(r.request.requestId) : Effect.die(`expected a request, got ${r._tag}`)))
