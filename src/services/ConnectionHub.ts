/**
 * ConnectionHub: the live, authenticated connections. It numbers broadcast events
 * per connection (`seq`), keeps presence and its state version, and closes every
 * connection on shutdown. One implementation: `ConnectionHubLive`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { EventOptions, LiveConnection } from "../connections/liveConnection.ts"
import type { PresenceEntry } from "../protocol/connect.ts"
import type { StateVersion } from "../protocol/frames.ts"

export interface ConnectionHubShape {
  readonly register: (connection: LiveConnection) => Effect.Effect<void>
  readonly unregister: (connId: string) => Effect.Effect<void>
  readonly byClientId: (clientId: number) => LiveConnection | undefined
  readonly connections: Effect.Effect<ReadonlyArray<LiveConnection>>
  /**
   * Sends an event to every connection (optionally only those `filter` accepts). With `audience:
   * "operators"` only operator connections are visited, so an event for operators costs nothing per node.
   */
  readonly broadcast: (
    event: string,
    payload: unknown,
    options?: EventOptions & { readonly filter?: (c: LiveConnection) => boolean; readonly audience?: "operators" }
  ) => Effect.Effect<void>
  readonly presence: Effect.Effect<ReadonlyArray<PresenceEntry>>
  readonly stateVersion: Effect.Effect<StateVersion>
  /** Bumps the health state version (after a health refresh). */
  readonly bumpHealth: Effect.Effect<StateVersion>
  readonly closeAll: (code: number, reason: string) => Effect.Effect<void>
}

export class ConnectionHub extends Context.Service<ConnectionHub, ConnectionHubShape>()(
  "gatehouse/services/ConnectionHub"
) {}
