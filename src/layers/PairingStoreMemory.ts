/**
 * Pairing stores in memory: for tests and ephemeral gateways. Same operations and
 * rules as the file and PostgreSQL stores; nothing survives the process.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { makeMemoryStore } from "../fs/jsonStore.ts"
import { emptyNodePairingState, type NodePairingState } from "../nodes/pairingModel.ts"
import { emptyPairingState, type PairingState } from "../pairing/model.ts"
import { documentBackend } from "../pairing/stateBackend.ts"
import { DEFAULT_PENDING_BUDGET, type PendingBudget } from "../pairing/pendingBudget.ts"
import { NodePairingStore } from "../services/NodePairingStore.ts"
import { PairingStore } from "../services/PairingStore.ts"
import { devicePairingStore, nodePairingStore } from "./pairingOnBackend.ts"

/** Both pairing stores in memory, starting from the given states, with the given pending-request budget. */
export const layer = (
  devices: PairingState = emptyPairingState,
  nodes: NodePairingState = emptyNodePairingState,
  budget: PendingBudget = DEFAULT_PENDING_BUDGET
): Layer.Layer<PairingStore | NodePairingStore> =>
  Layer.mergeAll(
    Layer.effect(PairingStore, Effect.map(makeMemoryStore(devices), (s) => devicePairingStore(documentBackend(s), budget))),
    Layer.effect(NodePairingStore, Effect.map(makeMemoryStore(nodes), (s) => nodePairingStore(documentBackend(s), budget)))
  )
