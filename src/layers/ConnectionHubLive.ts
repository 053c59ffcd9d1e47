/**
 * The in-process ConnectionHub: maps of live connections by id and by RPC client
 * number, presence derived from them, and broadcasts in registration order.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import { hostname } from "node:os"
import type { LiveConnection } from "../connections/liveConnection.ts"
import type { PresenceEntry } from "../protocol/connect.ts"
import { satisfies } from "../protocol/scopes.ts"
import { ConnectionHub, type ConnectionHubShape } from "../services/ConnectionHub.ts"
import { GATEHOUSE_VERSION } from "../version.ts"

/** The hub of one gateway process. */
export const layer = Layer.effect(
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

    // Operator connections apart (in registration order): pairing events reach only operators, and
    // visiting 10 000 nodes for each of them made connecting n nodes cost O(n²).
    const operators = new Map<string, LiveConnection>()

    const broadcast: ConnectionHubShape["broadcast"] = (event, payload, options) =>
      Effect.forEach(
        [...(options?.audience === "operators" ? operators : byConnId).values()].filter((c) => options?.filter === undefined || options.filter(c)),
        (c) => c.sendEvent(event, payload, options),
        { discard: true }
      )

    // Presence is for operators who may read it; nodes never do. Kept apart (in registration order) so
    // that a node connecting while no reader is there costs O(1), not a presence list of every client.
    const readers = new Map<string, LiveConnection>()
    const readsPresence = (c: LiveConnection) => c.principal.role === "operator" && satisfies(c.principal.scopes, "operator.read")

    // The list as it is now, to every reader.
    const sendPresence = Effect.flatMap(presence, (list) => {
      const options = { dropIfSlow: true, stateVersion: { ...version } }
      return Effect.forEach([...readers.values()], (c) => c.sendEvent("presence", { presence: list }, options), { discard: true })
    })

    // A presence event is the whole list, so one per connect made a storm of n connects cost O(n²)
    // bytes to each watching operator. At most one list goes out per PRESENCE_INTERVAL: a change in a
    // quiet moment at once, later changes in the window folded into one list sent at its end.
    const scope = yield* Effect.scope
    const throttle = { lastSentAt: Number.NEGATIVE_INFINITY, trailing: false }
    const presenceChanged = (connection: LiveConnection) =>
      tracked(connection)
        ? Effect.flatMap(Clock.currentTimeMillis, (now) => {
          version.presence++
          if (readers.size === 0 || throttle.trailing) return Effect.void
          // At most one interval, whatever the wall clock did: set back an hour, it must not hold presence an hour.
          const wait = Math.min(PRESENCE_INTERVAL_MS, throttle.lastSentAt + PRESENCE_INTERVAL_MS - now)
          if (wait <= 0) {
            throttle.lastSentAt = now
            return sendPresence
          }
          throttle.trailing = true
          const trailing = Effect.andThen(
            Effect.flatMap(Clock.currentTimeMillis, (at) =>
              Effect.sync(() => {
                throttle.trailing = false
                throttle.lastSentAt = at
              })),
            sendPresence
          )
          return Effect.asVoid(Effect.forkIn(Effect.delay(trailing, Duration.millis(wait)), scope))
        })
        : Effect.void

    return ConnectionHub.of({
      register: (connection) =>
        Effect.suspend(() => {
          byConnId.set(connection.connId, connection)
          byClient.set(connection.clientId, connection)
          if (connection.principal.role === "operator") operators.set(connection.connId, connection)
          if (readsPresence(connection)) readers.set(connection.connId, connection)
          return presenceChanged(connection)
        }),
      unregister: (connId) =>
        Effect.suspend(() => {
          const connection = byConnId.get(connId)
          if (connection === undefined) return Effect.void
          byConnId.delete(connId)
          byClient.delete(connection.clientId)
          operators.delete(connId)
          readers.delete(connId)
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

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// The least time between two presence lists sent to readers.
const PRESENCE_INTERVAL_MS = 250

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
