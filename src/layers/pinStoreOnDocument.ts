/**
 * The PinStore operations on a JSON document (in memory or a file), shared by
 * the file and memory layers.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { JsonStore } from "../fs/jsonStore.ts"
import { InvalidFingerprint, type Pin, PinStore, PinStoreError, StoreFailed } from "../services/PinStore.ts"
import { normalizeFingerprint } from "../tls/fingerprint.ts"

export const PinDocument = Schema.Struct({
  version: Schema.Literal(1),
  pins: Schema.Record(Schema.String, Schema.Struct({ fingerprint: Schema.String, pinnedAtMs: Schema.Number }))
})
export type PinDocument = typeof PinDocument.Type

export const emptyPins: PinDocument = { version: 1, pins: {} }

export const pinStoreOn = (store: JsonStore<PinDocument>, location: string) => {
  const failed = (e: Error) => new PinStoreError({ reason: new StoreFailed({ path: location, message: e.message }) })
  const key = (endpoint: string) => endpoint.toLowerCase()
  return PinStore.of({
    location,
    get: (endpoint) =>
      Effect.map(store.get, (doc): Pin | undefined => {
        const entry = doc.pins[key(endpoint)]
        return entry === undefined ? undefined : { endpoint: key(endpoint), ...entry }
      }),
    trust: (endpoint, fingerprint, _confirmedBy) =>
      Effect.gen(function*() {
        const canonical = normalizeFingerprint(fingerprint)
        if (canonical === undefined) return yield* new PinStoreError({ reason: new InvalidFingerprint({ value: fingerprint }) })
        const pinnedAtMs = yield* Clock.currentTimeMillis
        const entry = { fingerprint: canonical, pinnedAtMs }
        yield* store.modify((doc) => [undefined, { ...doc, pins: { ...doc.pins, [key(endpoint)]: entry } }]).pipe(Effect.mapError(failed))
        return { endpoint: key(endpoint), ...entry }
      }),
    forget: (endpoint) =>
      store.modify((doc) => {
        if (doc.pins[key(endpoint)] === undefined) return [false, doc] as const
        const { [key(endpoint)]: _gone, ...pins } = doc.pins
        return [true, { ...doc, pins }] as const
      }).pipe(Effect.mapError(failed)),
    list: Effect.map(store.get, (doc) => Object.entries(doc.pins).map(([endpoint, entry]) => ({ endpoint, ...entry })))
  })
}
