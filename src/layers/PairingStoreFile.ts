/**
 * The embedded default pairing stores: device pairing in
 * `<stateDir>/devices/pairing.json` and node pairing in `<stateDir>/nodes/pairing.json`,
 * each kept in memory and written atomically (0600) on every change. A file that
 * does not decode is moved aside and reported, never overwritten.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import { join } from "node:path"
import { makeFileStore } from "../fs/jsonStore.ts"
import { emptyNodePairingState, NodePairingState } from "../nodes/pairingModel.ts"
import { emptyPairingState, PairingState } from "../pairing/model.ts"
import { documentBackend } from "../pairing/stateBackend.ts"
import { pendingBudgetOf } from "../pairing/pendingBudget.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { NodePairingStore } from "../services/NodePairingStore.ts"
import { PairingStore } from "../services/PairingStore.ts"
import { devicePairingStore, nodePairingStore } from "./pairingOnBackend.ts"

/** The device pairing file of a state dir. */
export const pairingPath = (stateDir: string) => join(stateDir, "devices", "pairing.json")

/** The node pairing file of a state dir. */
export const nodePairingPath = (stateDir: string) => join(stateDir, "nodes", "pairing.json")

// The pending-request budget of `gateway.limits`.
const budget = GatewayConfig.useSync(({ config }) => pendingBudgetOf(config.limits))

/** Both pairing stores in files under the gateway's state dir. */
export const layer: Layer.Layer<PairingStore | NodePairingStore, never, GatewayConfig> = Layer.mergeAll(
  Layer.effect(
    PairingStore,
    Effect.zipWith(inStateDir(pairingPath, PairingState, emptyPairingState), budget, (s, b) => devicePairingStore(documentBackend(s), b))
  ),
  Layer.effect(
    NodePairingStore,
    Effect.zipWith(inStateDir(nodePairingPath, NodePairingState, emptyNodePairingState), budget, (s, b) => nodePairingStore(documentBackend(s), b))
  )
)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

function inStateDir<S>(pathIn: (stateDir: string) => string, schema: Schema.Codec<S, unknown>, empty: S) {
  return Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    return yield* makeFileStore(pathIn(config.paths.stateDir), schema, empty).pipe(Effect.orDie)
  })
}
