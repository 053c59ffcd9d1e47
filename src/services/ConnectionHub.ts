/**
 * ConnectionHub: the live, authenticated connections. It numbers broadcast events
 * per connection (`seq`), keeps presence and its state version, and closes every
 * connection on shutdown.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { hostname } from "node:os"
import type { ClientInfo, PresenceEntry } from "../protocol/connect.ts"
import type { StateVersion } from "../protocol/frames.ts"
import { satisfies } from "../protocol/scopes.ts"
import { GATEHOUSE_VERSION } from "../version.ts"
import type { Principal } from "./Auth.ts"

/** Options for one outbound event. */
export interface EventOptions {
  /** Skip this event for a slow consumer instead of closing it. */
  readonly dropIfSlow?: boolean
  readonly stateVersion?: StateVersion
}

/** One authenticated connection as the rest of the gateway sees it. */
export interface LiveConnection {
  readonly connId: string
  /** The number the RPC server knows this connection by. */
  readonly clientId: number
  readonly principal: Principal
  readonly client: ClientInfo
  readonly remoteAddress: string
  readonly connectedAtMs: number
  /** Sends a broadcast-style event with this connection's next `seq`. */
  readonly sendEvent: (event: string, payload: unknown, options?: EventOptions) => Effect.Effect<void>
  /** Sends an event addressed to this connection alone (no `seq`, as OpenClaw does for node.invoke.request). */
  readonly sendDirect: (event: string, payload: unknown) => Effect.Effect<void>
  /** Closes the connection with a close code and reason. */
  readonly close: (code: number, reason: string) => Effect.Effect<void>
}

export interface ConnectionHubShape {
  readonly register: (connection: LiveConnection) => Effect.Effect<void>
  readonly unregister: (connId: string) => Effect.Effect<void>
  readonly byClientId: (clientId: number) => LiveConnection | undefined
  readonly connections: Effect.Effect<ReadonlyArray<LiveConnection>>
  /** Sends an event to every connection (optionally only those `filter` accepts). */
  readonly broadcast: (
    event: string,
    payload: unknown,
    options?: EventOptions & { readonly filter?: (c: LiveConnection) => boolean }
  ) => Effect.Effect<void>
  readonly presence: Effect.Effect<ReadonlyArray<PresenceEntry>>
  readonly stateVersion: Effect.Effect<StateVersion>
  /** Bumps the health state version (after a health refresh). */
  readonly bumpHealth: Effect.Effect<StateVersion>
  readonly closeAll: (code: number, reason: string) => Effect.Effect<void>
}

export class ConnectionHub extends Context.Service<ConnectionHub, ConnectionHubShape>()(
  "gatehouse/services/ConnectionHub"
) {
  static readonly layer = Layer.effect(
    ConnectionHub,
    Effect.gen(function*() {
      const byConnId = new Map<string, LiveConnection>()
      const byClient = new Map<number, LiveConnection>()
      const version = { presence: 1, health: 1 }
      const startedAt = yield* Clock.currentTimeMillis
      const host = hostname()

      const presence = Effect.sync((): ReadonlyArray<PresenceEntry> => {
        const self: PresenceEntry = { host, version: GATEHOUSE_VERSION, mode: "gateway", reason: "self", ts: startedAt }
        const clients = [...byConnId.values()].filter(tracked).map(presenceOf)
        return [self, ...clients]
      })

      const broadcast: ConnectionHubShape["broadcast"] = (event, payload, options) =>
        Effect.forEach(
          [...byConnId.values()].filter((c) => options?.filter === undefined || options.filter(c)),
          (c) => c.sendEvent(event, payload, options),
          { discard: true }
        )

      const presenceChanged = (connection: LiveConnection) =>
        tracked(connection)
          ? Effect.gen(function*() {
            version.presence++
            const list = yield* presence
            // Presence is for operators who may read it; nodes never do, and sending it to them costs O(nodes²).
            yield* broadcast("presence", { presence: list }, {
              dropIfSlow: true,
              stateVersion: { ...version },
              filter: (c) => c.principal.role === "operator" && satisfies(c.principal.scopes, "operator.read")
            })
          })
          : Effect.void

      return ConnectionHub.of({
        register: (connection) =>
          Effect.suspend(() => {
            byConnId.set(connection.connId, connection)
            byClient.set(connection.clientId, connection)
            return presenceChanged(connection)
          }),
        unregister: (connId) =>
          Effect.suspend(() => {
            const connection = byConnId.get(connId)
            if (connection === undefined) return Effect.void
            byConnId.delete(connId)
            byClient.delete(connection.clientId)
            return presenceChanged(connection)
          }),
        byClientId: (clientId) => byClient.get(clientId),
        connections: Effect.sync(() => [...byConnId.values()]),
        broadcast,
        presence,
        stateVersion: Effect.sync(() => ({ ...version })),
        bumpHealth: Effect.sync(() => {
          version.health++
          return { ...version }
        }),
        closeAll: (code, reason) =>
          Effect.forEach([...byConnId.values()], (c) => c.close(code, reason), { discard: true, concurrency: "unbounded" })
      })
    })
  )
}

/** Operators who may see pairing requests: `device.pair.*` and `node.pair.*` events go only to them. */
export const isPairer = (c: LiveConnection) => c.principal.role === "operator" && satisfies(c.principal.scopes, "operator.pairing")

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// One-shot CLI calls come and go every second; listing them as presence is noise.
const tracked = (c: LiveConnection) => c.client.mode !== "cli" && c.client.mode !== "probe"

const presenceOf = (c: LiveConnection): PresenceEntry => ({
  host: c.client.displayName ?? c.client.id,
  ip: c.remoteAddress,
  version: c.client.version,
  platform: c.client.platform,
  ...(c.client.deviceFamily === undefined ? {} : { deviceFamily: c.client.deviceFamily }),
  mode: c.client.mode,
  reason: "connect",
  ...(c.client.instanceId === undefined ? {} : { instanceId: c.client.instanceId }),
  roles: [c.principal.role],
  ts: c.connectedAtMs
})
