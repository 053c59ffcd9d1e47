/**
 * The PinStore in a file: `<stateDir>/tls-pins.json`, written atomically with
 * mode 0600 on every change. A file that does not decode is moved aside and the
 * store starts empty, so every gateway is unpinned (refused) until re-trusted.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { join } from "node:path"
import { makeFileStore } from "../fs/jsonStore.ts"
import { PinStore, PinStoreError, StoreFailed } from "../services/PinStore.ts"
import { emptyPins, PinDocument, pinStoreOn } from "./pinStoreOnDocument.ts"

/** Where the pins of a client state dir are kept. */
export const pinsPath = (stateDir: string) => join(stateDir, "tls-pins.json")

/** The pins under `stateDir`. */
export const layer = (stateDir: string): Layer.Layer<PinStore, PinStoreError> =>
  Layer.effect(
    PinStore,
    Effect.map(
      makeFileStore(pinsPath(stateDir), PinDocument, emptyPins).pipe(
        Effect.mapError((e) => new PinStoreError({ reason: new StoreFailed({ path: pinsPath(stateDir), message: e.message }) }))
      ),
      (store) => pinStoreOn(store, pinsPath(stateDir))
    )
  )
