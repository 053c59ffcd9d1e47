/**
 * Discovery: how gateways are found without typing an address. A gateway
 * advertises itself (Bonjour/mDNS `_openclaw-gw._tcp` with non-secret TXT hints);
 * clients browse. Advertised values are hints only: clients route to the answer's
 * address and never take a TLS pin from them.
 *
 * Layers: `DiscoveryDisabled` (advertises nothing, finds nothing; the default
 * until mDNS lands).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** Browsing or advertising could not run (no usable interface, socket refused). */
export class DiscoveryUnavailable extends Schema.TaggedClass<DiscoveryUnavailable>()("DiscoveryUnavailable", {
  message: Schema.String
}) {}

export class DiscoveryError extends Schema.TaggedError<DiscoveryError>()("DiscoveryError", {
  reason: Schema.Union([DiscoveryUnavailable])
}) {}

/** A gateway seen by browsing. */
export interface DiscoveredGateway {
  /** The service instance name, e.g. "gatehouse on box". */
  readonly name: string
  readonly host: string
  readonly port: number
  /** TXT hints as advertised (never secrets, never trusted for routing or pinning). */
  readonly txt: Readonly<Record<string, string>>
  readonly source: "mdns" | "static" | "wide-area"
}

export interface DiscoveryShape {
  /** How this layer discovers: "disabled", "static", "mdns". */
  readonly mode: string
  /** Gateways found within `timeoutMs`. */
  readonly browse: (timeoutMs: number) => Effect.Effect<ReadonlyArray<DiscoveredGateway>, DiscoveryError>
  /** What this process advertises now (empty when it advertises nothing). */
  readonly advertised: Effect.Effect<ReadonlyArray<DiscoveredGateway>>
}

export class Discovery extends Context.Service<Discovery, DiscoveryShape>()("gatehouse/services/Discovery") {}
