/**
 * NodePairingStore: which command surface an operator approved for each node, as
 * atomic domain operations: reconcile a connecting node's declared commands, open,
 * approve or reject its request, verify node tokens, rename, forget. Every layer
 * runs the same pure transitions (`nodes/pairingPolicy.ts`).
 *
 * Layers: `PairingStoreFile`, `PairingStoreMemory` and `PairingStorePg` provide it
 * beside `PairingStore`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { NodePendingRequest, PairedNode } from "../nodes/pairingModel.ts"
import type { NodeSurface } from "../nodes/pairingPolicy.ts"
import { PairingRefused, PairingUnavailable } from "./PairingStore.ts"

export class NodePairingStoreError extends Schema.TaggedError<NodePairingStoreError>()("NodePairingStoreError", {
  reason: Schema.Union([PairingRefused, PairingUnavailable])
}) {}

/** What reconciling a connecting node's surface did. */
export type ReconcileOutcome =
  | { readonly _tag: "Current" }
  | { readonly _tag: "Requested"; readonly request: NodePendingRequest; readonly created: boolean }
  | { readonly _tag: "Approved"; readonly request: NodePendingRequest }

/** One node's stored pairing: its approved surface and its live pending request. */
export interface NodeRecord {
  readonly paired: PairedNode | undefined
  readonly pending: NodePendingRequest | undefined
}

export interface NodePairingStoreShape {
  /** Records a connect: nothing new declared → Current; else a (silently approved when allowed) request. */
  readonly reconcile: (surface: NodeSurface, silent: boolean) => Effect.Effect<ReconcileOutcome, NodePairingStoreError>
  readonly node: (nodeId: string) => Effect.Effect<NodeRecord, NodePairingStoreError>
  /** Live pending requests (oldest first) and paired nodes. */
  readonly list: Effect.Effect<{ readonly pending: ReadonlyArray<NodePendingRequest>; readonly paired: ReadonlyArray<PairedNode> }, NodePairingStoreError>
  /** Opens (or refreshes) a request for the surface, never silently. */
  readonly request: (surface: NodeSurface) => Effect.Effect<{ readonly request: NodePendingRequest; readonly created: boolean }, NodePairingStoreError>
  readonly approve: (requestId: string, callerScopes: ReadonlyArray<string>) => Effect.Effect<PairedNode, NodePairingStoreError>
  readonly reject: (requestId: string) => Effect.Effect<NodePendingRequest, NodePairingStoreError>
  readonly rename: (nodeId: string, displayName: string) => Effect.Effect<PairedNode, NodePairingStoreError>
  /** Forgets a node's approved surface and pending request. */
  readonly forget: (nodeId: string) => Effect.Effect<void, NodePairingStoreError>
}

export class NodePairingStore extends Context.Service<NodePairingStore, NodePairingStoreShape>()(
  "gatehouse/services/NodePairingStore"
) {}
