/**
 * The PairingStore and NodePairingStore operations, written once over any
 * StateBackend: the file, memory and PostgreSQL layers differ only in the backend
 * they hand in, so they share every rule and every atomicity guarantee.
 */
import * as Effect from "effect/Effect"
import { type NodePairingState } from "../nodes/pairingModel.ts"
import * as NodePolicy from "../nodes/pairingPolicy.ts"
import { type PairingState, SETUP_CODE_TTL_MS } from "../pairing/model.ts"
import * as Policy from "../pairing/policy.ts"
import { own } from "../pairing/records.ts"
import type { StateBackend } from "../pairing/stateBackend.ts"
import { Refused, transitions } from "../pairing/transitions.ts"
import { DEFAULT_PENDING_BUDGET, overPendingBudget, type PendingBudget, type PendingEntry } from "../pairing/pendingBudget.ts"
import type { NodeSurface } from "../nodes/pairingPolicy.ts"
import { type NodePairingStoreShape, NodePairingStoreError, type ReconcileOutcome } from "../services/NodePairingStore.ts"
import {
  type AdmitOutcome,
  PairingRefused,
  PairingStoreError,
  type PairingStoreShape,
  PairingUnavailable
} from "../services/PairingStore.ts"
import { withoutRow, withRow } from "../fs/tableRows.ts"

/** Device pairing operations on `backend`. */
export const devicePairingStore = (backend: StateBackend<PairingState>, budget: PendingBudget = DEFAULT_PENDING_BUDGET): PairingStoreShape => {
  const { apply, modify, read } = transitions(backend, Policy.prune)
  const fail = mapFailure((reason) => new PairingStoreError({ reason }), "pairing state")
  const owner = (deviceId: string) => ({ owners: [deviceId] })

  return {
    admit: (ask, silentAllowed) =>
      fail(Effect.flatMap(modify({ owners: [ask.deviceId], allPending: true }, (s, fr): readonly [AdmitOutcome | Refused, PairingState] => {
        const reason = Policy.classify(s, ask)
        if (reason === undefined) {
          const ensured = Policy.ensureToken(s, ask.deviceId, ask.role, ask.scopes, fr)
          if (ensured !== undefined) return [{ _tag: "Paired", token: ensured.token }, ensured.state]
        }
        const why = reason ?? "scope-upgrade"
        const silent = silentAllowed && (why === "not-paired" || why === "role-upgrade")
        // A silent request is approved in the same step and never waits; one that waits must fit the budget.
        const over = silent ? undefined : overPendingBudget(pendingOf(Object.values(s.pending), (p) => p.deviceId), ask.deviceId, ask.remoteIp, budget, "device")
        if (over !== undefined) return [new Refused(over), s]
        const opened = Policy.requestPairing(s, ask, why, silent, fr)
        const requested: AdmitOutcome = { _tag: "Requested", request: opened.request, created: opened.created }
        if (!silent) return [requested, opened.state]
        const approved = Policy.approve(opened.state, opened.request.requestId, { _tag: "Gateway", via: "silent" }, fr)
        if (!approved.ok) return [requested, opened.state]
        const ensured = Policy.ensureToken(approved.state, ask.deviceId, ask.role, ask.scopes, fr)!
        return [{ _tag: "Approved", requestId: opened.request.requestId, token: ensured.token }, ensured.state]
      }), (r) => (r instanceof Refused ? Effect.fail(r) : Effect.succeed(r)))),
    verifyToken: (ask, token) =>
      fail(Effect.map(read(owner(ask.deviceId)), (s) => Policy.verifyToken(s, ask.deviceId, ask.publicKey, ask.role, token, ask.scopes, ask))),
    redeemSetupCode: (ask, code) =>
      fail(apply({ owners: [ask.deviceId], codes: [Policy.setupCodeHash(code)] }, (s, fr) => {
        const redeemed = Policy.redeemSetupCode(s, code, ask.deviceId, ask.role, ask.scopes, fr.now)
        if (!redeemed.ok) return redeemed
        const opened = Policy.requestPairing(redeemed.state, { ...ask, scopes: redeemed.value.scopes }, "not-paired", true, fr)
        const approved = Policy.approve(opened.state, opened.request.requestId, { _tag: "Gateway", via: "setup-code" }, fr)
        if (!approved.ok) return approved
        const ensured = Policy.ensureToken(approved.state, ask.deviceId, ask.role, ask.scopes, fr)!
        return { ok: true, value: ensured.token, state: ensured.state }
      })),
    list: fail(Effect.map(read("all"), (s) => ({
      pending: Object.values(s.pending).sort((a, b) => a.ts - b.ts),
      paired: Object.values(s.paired).sort((a, b) => a.approvedAtMs - b.approvedAtMs)
    }))),
    request: (requestId) => fail(Effect.map(read({ requests: [requestId] }), (s) => own(s.pending, requestId))),
    approve: (requestId, approver) => fail(apply({ requests: [requestId] }, (s, fr) => Policy.approve(s, requestId, approver, fr))),
    reject: (requestId) => fail(apply({ requests: [requestId] }, (s) => Policy.reject(s, requestId))),
    remove: (deviceId) => fail(apply(owner(deviceId), (s) => Policy.remove(s, deviceId))),
    rename: (deviceId, label) => fail(apply(owner(deviceId), (s) => Policy.rename(s, deviceId, label))),
    rotate: (deviceId, role, scopes, callerScopes) =>
      fail(apply(owner(deviceId), (s, fr) => Policy.rotate(s, deviceId, role, scopes, callerScopes, fr))),
    revoke: (deviceId, role) => fail(apply(owner(deviceId), (s, fr) => Policy.revoke(s, deviceId, role, fr.now))),
    revokeSilent: fail(modify("all", (s, fr) => {
      const r = Policy.revokeSilent(s, fr.now)
      return [r.deviceIds, r.state] as const
    })),
    createSetupCode: (role, scopes) =>
      fail(modify({}, (s, fr) => {
        const token = fr.token()
        const added = Policy.addSetupCode(s, token, role, scopes, fr.now, SETUP_CODE_TTL_MS)
        return [{ token, expiresAtMs: added.code.expiresAtMs }, added.state] as const
      }))
  }
}

/** Node pairing operations on `backend`. */
export const nodePairingStore = (backend: StateBackend<NodePairingState>, budget: PendingBudget = DEFAULT_PENDING_BUDGET): NodePairingStoreShape => {
  const { apply, modify, read } = transitions(backend, NodePolicy.prune)
  const fail = mapFailure((reason) => new NodePairingStoreError({ reason }), "node pairing state")
  const owner = (nodeId: string) => ({ owners: [nodeId] })
  const pendingOf = (s: NodePairingState, nodeId: string) => Object.values(s.pending).find((p) => p.nodeId === nodeId)
  const nodeOverBudget = (s: NodePairingState, surface: NodeSurface) =>
    overPendingBudget(
      Object.values(s.pending).map((p) => ({ owner: p.nodeId, remoteIp: p.remoteIp })),
      surface.nodeId,
      surface.remoteIp,
      budget,
      "node"
    )

  return {
    reconcile: (surface, silent) =>
      fail(Effect.flatMap(modify({ owners: [surface.nodeId], allPending: true }, (s, fr): readonly [ReconcileOutcome | Refused, NodePairingState] => {
        const paired = own(s.paired, surface.nodeId)
        if (paired !== undefined && NodePolicy.unapproved(s, surface).length === 0) {
          return [{ _tag: "Current" }, { ...s, paired: withRow(s.paired, surface.nodeId, { ...paired, lastConnectedAtMs: fr.now }) }]
        }
        const over = silent ? undefined : nodeOverBudget(s, surface)
        if (over !== undefined) return [new Refused(over), s]
        const opened = NodePolicy.request(s, surface, silent, fr)
        const requested: ReconcileOutcome = { _tag: "Requested", request: opened.request, created: opened.created }
        if (!silent) return [requested, opened.state]
        const approved = NodePolicy.approve(opened.state, opened.request.requestId, { _tag: "Gateway" }, fr)
        return approved.ok ? [{ _tag: "Approved", request: opened.request }, approved.state] : [requested, opened.state]
      }), (r) => (r instanceof Refused ? Effect.fail(r) : Effect.succeed(r)))),
    node: (nodeId) =>
      fail(Effect.map(read(owner(nodeId)), (s) => ({
        paired: own(s.paired, nodeId),
        pending: pendingOf(s, nodeId)
      }))),
    list: fail(Effect.map(read("all"), (s) => ({
      pending: Object.values(s.pending).sort((a, b) => a.ts - b.ts),
      paired: Object.values(s.paired)
    }))),
    request: (surface) =>
      fail(apply({ owners: [surface.nodeId], allPending: true }, (s, fr) => {
        const over = nodeOverBudget(s, surface)
        if (over !== undefined) return { ok: false, refusal: over }
        const r = NodePolicy.request(s, surface, false, fr)
        return { ok: true, value: { request: r.request, created: r.created }, state: r.state }
      })),
    approve: (requestId, callerScopes) =>
      fail(apply({ requests: [requestId] }, (s, fr) => NodePolicy.approve(s, requestId, { _tag: "Operator", scopes: callerScopes }, fr))),
    reject: (requestId) => fail(apply({ requests: [requestId] }, (s) => NodePolicy.reject(s, requestId))),
    rename: (nodeId, displayName) => fail(apply(owner(nodeId), (s) => NodePolicy.rename(s, nodeId, displayName))),
    forget: (nodeId) =>
      fail(modify(owner(nodeId), (s) => {
        if (!Object.hasOwn(s.paired, nodeId) && pendingOf(s, nodeId) === undefined) return [undefined, s] as const
        let pending = s.pending
        for (const p of Object.values(s.pending)) if (p.nodeId === nodeId) pending = withoutRow(pending, p.requestId)
        return [undefined, { ...s, paired: withoutRow(s.paired, nodeId), pending }] as const
      }))
  }
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// Turns a refusal or unavailable state into the service's own error.
const mapFailure = <E>(make: (reason: PairingRefused | PairingUnavailable) => E, what: string) =>
<A, R>(effect: Effect.Effect<A, Refused | { readonly _tag: "StateUnavailable"; readonly message: string }, R>): Effect.Effect<A, E, R> =>
  Effect.mapError(effect, (e) =>
    make(
      e._tag === "Refused"
        ? new PairingRefused({ code: e.refusal.code, message: e.refusal.message })
        : new PairingUnavailable({ message: `${what} could not be saved: ${e.message}` })
    ))

// The budget's view of pending requests: who owns each, and where it came from.
const pendingOf = <P extends { readonly remoteIp?: string | undefined }>(pending: ReadonlyArray<P>, ownerOf: (p: P) => string): ReadonlyArray<PendingEntry> =>
  pending.map((p) => ({ owner: ownerOf(p), remoteIp: p.remoteIp }))
