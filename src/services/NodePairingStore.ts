/**
 * NodePairingStore: approved node command surfaces and pending node requests,
 * in `<stateDir>/nodes/pairing.json` (`layerFile`) or in memory (`layerMemory`).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { join } from "node:path"
import { type JsonStore, makeFileStore, makeMemoryStore } from "../fs/jsonStore.ts"
import { emptyNodePairingState, NodePairingState } from "../nodes/pairingModel.ts"
import { GatewayConfig } from "./GatewayConfig.ts"

export class NodePairingStore extends Context.Service<NodePairingStore, JsonStore<NodePairingState>>()(
  "gatehouse/services/NodePairingStore"
) {
  static readonly layerFile = Layer.effect(
    NodePairingStore,
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig
      return yield* makeFileStore(join(config.paths.stateDir, "nodes", "pairing.json"), NodePairingState, emptyNodePairingState).pipe(Effect.orDie)
    })
  )

  static readonly layerMemory = (initial: NodePairingState = emptyNodePairingState) =>
    Layer.effect(NodePairingStore, makeMemoryStore(initial))
}
