/**
 * Who a connection is, as the gateway decided it: the vocabulary Auth produces and
 * the hub, the handlers and embedders consume. Kept below the services so no
 * service imports another only for a type.
 */
import type { Role } from "../protocol/connect.ts"

/** What the transport knows about a connection, independent of what the client claims. */
export interface TransportInfo {
  readonly remoteAddress: string
  /** Loopback socket with no proxy headers. */
  readonly directLocal: boolean
  /** The socket's own peer (a proxy's address when one forwarded the request); default: `remoteAddress`. */
  readonly peerAddress?: string | undefined
  /** The upgrade request's headers (lower-case names), for identities a proxy vouches for. */
  readonly headers?: Readonly<Record<string, string | ReadonlyArray<string> | undefined>> | undefined
}

/** The server-derived identity of a connection. */
export interface Principal {
  readonly method: "token" | "password" | "none" | "device-token" | "bootstrap-token" | "trusted-proxy" | "tailscale"
  /** Who the trusted proxy or Tailscale says the user is (validated shape), for those methods. */
  readonly user?: string | undefined
  readonly role: Role
  readonly scopes: ReadonlyArray<string>
  /** The verified device identity, when the client presented one. */
  readonly deviceId?: string | undefined
  /** Which shared secret (its generation) the session authenticated with; a rotation ends the older ones. */
  /** The identity generation a trusted proxy or Tailscale vouched for this session under (see LiveConfig). */
  readonly identityGeneration?: number | undefined
  readonly secretGeneration?: number | undefined
}

/** A successful authentication: who it is, and the device token to hand back, if any. */
export interface Admitted {
  readonly principal: Principal
  readonly deviceToken?: { readonly token: string; readonly issuedAtMs: number } | undefined
}
