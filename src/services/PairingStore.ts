/**
 * PairingStore: where device pairing state lives. `layerFile` keeps it in
 * `<stateDir>/devices/pairing.json` (atomic writes, 0600; the embedded default),
 * `layerMemory` keeps it in memory (tests).
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import { join } from "node:path"
import { type JsonStore, makeMemoryStore } from "../fs/jsonStore.ts"
import { emptyPairingState, PairingState } from "../pairing/model.ts"
import { stateFileStore } from "./stateFileStore.ts"

/** The pairing file of a state dir. */
export const pairingPath = (stateDir: string) => join(stateDir, "devices", "pairing.json")

export class PairingStore extends Context.Service<PairingStore, JsonStore<PairingState>>()(
  "gatehouse/services/PairingStore"
) {
  /** Pairing state in a file under the gateway's state dir. */
  static readonly layerFile = Layer.effect(PairingStore, stateFileStore(pairingPath, PairingState, emptyPairingState))

  /** Pairing state in memory, starting from `initial`. */
  static readonly layerMemory = (initial: PairingState = emptyPairingState) =>
    Layer.effect(PairingStore, makeMemoryStore(initial))
}
