/**
 * Node pairing as pure transitions: a connecting node's declared commands are
 * compared with its approved surface; anything new opens (or refreshes) one
 * pending request per node; approval needs the scopes its commands call for.
 */
import { PENDING_TTL_MS } from "../pairing/model.ts"
import type { Fresh, Outcome } from "../pairing/policy.ts"
import { own } from "../pairing/records.ts"
import { satisfies } from "../protocol/scopes.ts"
import { approvalScopes } from "./commandPolicy.ts"
import type { NodePairingState, NodePendingRequest, PairedNode } from "./pairingModel.ts"
import { withoutRow, withRow } from "../fs/tableRows.ts"

/** What a connecting node declares. */
export interface NodeSurface {
  readonly nodeId: string
  readonly displayName?: string | undefined
  readonly platform?: string | undefined
  readonly version?: string | undefined
  readonly deviceFamily?: string | undefined
  readonly clientId?: string | undefined
  readonly caps: ReadonlyArray<string>
  readonly commands: ReadonlyArray<string>
  readonly remoteIp?: string | undefined
}

const refuse = (code: "unknown-request" | "unknown-node" | "caller-missing-scope", message: string): Outcome<never, NodePairingState> => ({
  ok: false,
  refusal: { code: code === "unknown-node" ? "unknown-device" : code, message }
})

/** Drops pending requests older than the TTL. */
export const prune = (state: NodePairingState, now: number): NodePairingState => {
  const pending = Object.fromEntries(Object.entries(state.pending).filter(([, p]) => now - p.ts < PENDING_TTL_MS))
  return Object.keys(pending).length === Object.keys(state.pending).length ? state : { ...state, pending }
}

/** Commands a node declares beyond its approved surface (all of them when unpaired). */
export const unapproved = (state: NodePairingState, surface: NodeSurface): ReadonlyArray<string> => {
  const paired = own(state.paired, surface.nodeId)
  const approved = new Set(paired?.commands ?? [])
  return paired === undefined ? [...surface.commands] : surface.commands.filter((c) => !approved.has(c))
}

/** Opens or refreshes the node's pending request (one per node; an identical ask keeps its id). */
export const request = (
  state: NodePairingState,
  surface: NodeSurface,
  silent: boolean,
  fresh: Fresh
): { readonly request: NodePendingRequest; readonly created: boolean; readonly state: NodePairingState } => {
  const commands = [...new Set(surface.commands)].sort()
  const existing = Object.values(state.pending).find((p) => p.nodeId === surface.nodeId)
  const metadata = {
    ...(surface.displayName === undefined ? {} : { displayName: surface.displayName }),
    ...(surface.platform === undefined ? {} : { platform: surface.platform }),
    ...(surface.version === undefined ? {} : { version: surface.version }),
    ...(surface.deviceFamily === undefined ? {} : { deviceFamily: surface.deviceFamily }),
    ...(surface.clientId === undefined ? {} : { clientId: surface.clientId }),
    ...(surface.remoteIp === undefined ? {} : { remoteIp: surface.remoteIp })
  }
  if (existing !== undefined && existing.commands.join("\n") === commands.join("\n")) {
    const refreshed: NodePendingRequest = { ...existing, ...metadata, caps: [...surface.caps], silent: existing.silent && silent }
    return { request: refreshed, created: false, state: { ...state, pending: withRow(state.pending, refreshed.requestId, refreshed) } }
  }
  const created: NodePendingRequest = {
    requestId: fresh.id(),
    nodeId: surface.nodeId,
    ...metadata,
    caps: [...surface.caps],
    commands,
    silent,
    ts: fresh.now
  }
  const pending = withRow(existing === undefined ? state.pending : withoutRow(state.pending, existing.requestId), created.requestId, created)
  return { request: created, created: true, state: { ...state, pending } }
}

/** Who approves a node's surface. */
export type NodeApprover = { readonly _tag: "Operator"; readonly scopes: ReadonlyArray<string> } | { readonly _tag: "Gateway" }

/** Approves a pending node request; the approver needs the scopes its commands call for. */
export const approve = (state: NodePairingState, requestId: string, approver: NodeApprover, fresh: Fresh): Outcome<PairedNode, NodePairingState> => {
  const pending = own(state.pending, requestId)
  if (pending === undefined) {
    return refuse("unknown-request", `unknown node requestId ${requestId}: it expired (5 minutes) or was replaced; run \`gatehouse nodes pending\``)
  }
  if (approver._tag === "Operator") {
    const missing = approvalScopes(pending.commands).filter((s) => !satisfies(approver.scopes, s))
    if (missing.length > 0) return refuse("caller-missing-scope", `missing scope: ${missing[0]} (approving a node that declares ${pending.commands.join(", ")} needs ${approvalScopes(pending.commands).join(" + ")})`)
  }
  const previous = own(state.paired, pending.nodeId)
  const node: PairedNode = {
    nodeId: pending.nodeId,
    ...pick(pending),
    ...(previous?.displayName === undefined ? {} : { displayName: previous.displayName }),
    caps: pending.caps,
    commands: pending.commands,
    token: previous?.token ?? fresh.token(),
    approvedVia: approver._tag === "Operator" ? "owner" : "silent",
    createdAtMs: previous?.createdAtMs ?? fresh.now,
    approvedAtMs: fresh.now,
    lastConnectedAtMs: fresh.now
  }
  return { ok: true, value: node, state: { ...state, pending: withoutRow(state.pending, requestId), paired: withRow(state.paired, node.nodeId, node) } }
}

/** Rejects a pending node request. */
export const reject = (state: NodePairingState, requestId: string): Outcome<NodePendingRequest, NodePairingState> => {
  const pending = own(state.pending, requestId)
  if (pending === undefined) return refuse("unknown-request", `unknown node requestId ${requestId}; run \`gatehouse nodes pending\``)
  return { ok: true, value: pending, state: { ...state, pending: withoutRow(state.pending, requestId) } }
}

/** Renames a paired node. */
export const rename = (state: NodePairingState, nodeId: string, displayName: string): Outcome<PairedNode, NodePairingState> => {
  const node = own(state.paired, nodeId)
  if (node === undefined) return refuse("unknown-node", `no paired node ${nodeId}; run \`gatehouse nodes list\``)
  const renamed = { ...node, displayName }
  return { ok: true, value: renamed, state: { ...state, paired: withRow(state.paired, nodeId, renamed) } }
}

const pick = (p: NodePendingRequest) => ({
  ...(p.displayName === undefined ? {} : { displayName: p.displayName }),
  ...(p.platform === undefined ? {} : { platform: p.platform }),
  ...(p.version === undefined ? {} : { version: p.version }),
  ...(p.deviceFamily === undefined ? {} : { deviceFamily: p.deviceFamily })
})
