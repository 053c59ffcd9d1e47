/**
 * Discovery: how gateways are found without typing an address. A gateway
 * advertises itself (Bonjour/mDNS `_openclaw-gw._tcp` with non-secret TXT hints);
 * clients browse. Advertised values are hints only: clients route to the answer's
 * address and never take a TLS pin from them.
 *
 * Layers: `DiscoveryMdns` (Bonjour/mDNS on the LAN interfaces; the default on a
 * machine with a LAN), `DiscoveryStatic` (a fixed list, advertises nothing),
 * `DiscoveryDisabled` (advertises nothing, finds nothing).
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
  /** Where to connect: an address resolved from SRV + A/AAAA (never from TXT). */
  readonly host: string
  readonly port: number
  /** The SRV target, e.g. "box.local". */
  readonly hostname?: string | undefined
  /** Every address the SRV target resolved to. */
  readonly addresses?: ReadonlyArray<string> | undefined
  /** TXT hints as advertised (never secrets, never trusted for routing or pinning). */
  readonly txt: Readonly<Record<string, string>>
  readonly source: "mdns" | "static" | "wide-area"
}

/** Where the running gateway can be reached, given to the advertiser once the listener is bound. */
export interface PublishedEndpoint {
  readonly port: number
  /**
   * SHA-256 of the TLS certificate when the listener serves TLS (64 hex digits, colons allowed):
   * advertised as `gatewayTls=1` + `gatewayTlsSha256`. Undefined: plain WebSocket.
   */
  readonly tlsSha256?: string | undefined
  /** The canvas host's port, when one runs. */
  readonly canvasPort?: number | undefined
}

/** What the advertiser is doing, for `status`. */
export interface DiscoveryState {
  /**
   * "idle": not advertising (nothing published yet, or this layer never advertises);
   * "probing": checking that the names are free; "advertising": announced and answering;
   * "backoff": the last attempt failed, retrying after a delay.
   */
  readonly phase: "idle" | "probing" | "advertising" | "backoff"
  /** The interfaces advertised on. */
  readonly interfaces: ReadonlyArray<string>
  /** Name conflicts lost so far (each one renames: "name (2)"). */
  readonly conflicts: number
  /** Restarts after a failure. */
  readonly restarts: number
  readonly lastError?: string | undefined
}

export const idleState: DiscoveryState = { phase: "idle", interfaces: [], conflicts: 0, restarts: 0 }

export interface DiscoveryShape {
  /** How this layer discovers: "disabled", "static", "mdns". */
  readonly mode: string
  /** Gateways found within `timeoutMs`. */
  readonly browse: (timeoutMs: number) => Effect.Effect<ReadonlyArray<DiscoveredGateway>, DiscoveryError>
  /** What this process advertises now (empty when it advertises nothing). */
  readonly advertised: Effect.Effect<ReadonlyArray<DiscoveredGateway>>
  /**
   * Starts (or updates) advertising `endpoint`; returns at once, the advertiser runs in
   * the layer's background and never fails the caller. A layer that does not advertise
   * ignores it.
   */
  readonly publish: (endpoint: PublishedEndpoint) => Effect.Effect<void>
  /** The advertiser's state. */
  readonly state: Effect.Effect<DiscoveryState>
}

export class Discovery extends Context.Service<Discovery, DiscoveryShape>()("gatehouse/services/Discovery") {}
