/**
 * The PinStore in memory: for tests and embedding programs; nothing survives the process.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { makeMemoryStore } from "../fs/jsonStore.ts"
import { PinStore } from "../services/PinStore.ts"
import { emptyPins, type PinDocument, pinStoreOn } from "./pinStoreOnDocument.ts"

/** An empty (or `initial`) pin store in memory. */
export const layer = (initial: PinDocument = emptyPins): Layer.Layer<PinStore> =>
  Layer.effect(PinStore, Effect.map(makeMemoryStore(initial), (store) => pinStoreOn(store, "memory")))
