/**
 * NodePairingStore: approved node command surfaces and pending node requests,
 * in `<stateDir>/nodes/pairing.json` (`layerFile`) or in memory (`layerMemory`).
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import { join } from "node:path"
import { type JsonStore, makeMemoryStore } from "../fs/jsonStore.ts"
import { emptyNodePairingState, NodePairingState } from "../nodes/pairingModel.ts"
import { stateFileStore } from "./stateFileStore.ts"

export class NodePairingStore extends Context.Service<NodePairingStore, JsonStore<NodePairingState>>()(
  "gatehouse/services/NodePairingStore"
) {
  static readonly layerFile = Layer.effect(
    NodePairingStore,
    stateFileStore((stateDir) => join(stateDir, "nodes", "pairing.json"), NodePairingState, emptyNodePairingState)
  )

  static readonly layerMemory = (initial: NodePairingState = emptyNodePairingState) =>
    Layer.effect(NodePairingStore, makeMemoryStore(initial))
}
