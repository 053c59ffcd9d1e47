/**
 * PinStore (client): the TLS certificate fingerprints this host trusts, one per
 * gateway endpoint (`host:port`). A pin is stored only on the user's explicit
 * confirmation (`--trust-fingerprint`, or "yes" at an interactive prompt): a
 * fingerprint a gateway advertises (discovery TXT) is a hint, never a pin, and
 * never replaces one.
 *
 * Layers: `PinStoreFile` (a JSON file under the client's state dir, written
 * atomically, mode 0600), `PinStoreMemory` (tests, embedding).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** The store could not be read or written. */
export class StoreFailed extends Schema.TaggedClass<StoreFailed>()("StoreFailed", {
  path: Schema.String,
  message: Schema.String
}) {}

/** Not a SHA-256 fingerprint (64 hex digits, or openssl's `AB:CD:…` form). */
export class InvalidFingerprint extends Schema.TaggedClass<InvalidFingerprint>()("InvalidFingerprint", {
  value: Schema.String
}) {}

export class PinStoreError extends Schema.TaggedError<PinStoreError>()("PinStoreError", {
  reason: Schema.Union([StoreFailed, InvalidFingerprint])
}) {
  override get message() {
    return this.reason._tag === "StoreFailed"
      ? `TLS pins (${this.reason.path}): ${this.reason.message}`
      : `"${this.reason.value}" is not a SHA-256 fingerprint (64 hex digits, or openssl's AB:CD:... form)`
  }
}

/** A stored pin. */
export interface Pin {
  /** `host:port` of the gateway. */
  readonly endpoint: string
  /** SHA-256 of its certificate, 64 lowercase hex. */
  readonly fingerprint: string
  readonly pinnedAtMs: number
}

/**
 * How the user confirmed a pin: `--trust-fingerprint`, "yes" at the prompt, or a
 * setup code they carried from the gateway host. There is deliberately no "advertised".
 */
export type Confirmation = "trust-flag" | "prompt" | "setup-code"

export interface PinStoreShape {
  /** Where the pins are kept, for messages. */
  readonly location: string
  /** The pin of `endpoint`, if any. */
  readonly get: (endpoint: string) => Effect.Effect<Pin | undefined, PinStoreError>
  /** Stores (or replaces) the pin of `endpoint`, on the user's explicit confirmation only. */
  readonly trust: (endpoint: string, fingerprint: string, confirmedBy: Confirmation) => Effect.Effect<Pin, PinStoreError>
  /** Removes the pin of `endpoint`; whether there was one. */
  readonly forget: (endpoint: string) => Effect.Effect<boolean, PinStoreError>
  /** Every stored pin. */
  readonly list: Effect.Effect<ReadonlyArray<Pin>, PinStoreError>
}

export class PinStore extends Context.Service<PinStore, PinStoreShape>()("gatehouse/services/PinStore") {}
