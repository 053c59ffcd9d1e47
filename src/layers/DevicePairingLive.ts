/**
 * DevicePairing on a PairingStore and the ConnectionHub: store operations plus
 * what operators and devices must see happen (pairing events, 4001 closes).
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { isPairer, type LiveConnection } from "../connections/liveConnection.ts"
import type { DeviceToken } from "../pairing/model.ts"
import type { Ask } from "../pairing/policy.ts"
import { summarize } from "../pairing/summary.ts"
import { CloseCode } from "../protocol/constants.ts"
import { ConnectionHub } from "../services/ConnectionHub.ts"
import { type Admission, DevicePairing, DevicePairingError, type DevicePairingShape, SelfApprovalDenied } from "../services/DevicePairing.ts"
import { PairingStore, type PairingStoreError } from "../services/PairingStore.ts"

export const layer = Layer.effect(
  DevicePairing,
  Effect.gen(function*() {
    const store = yield* PairingStore
    const hub = yield* ConnectionHub
    const scope = yield* Effect.scope
    const toPairers = (event: string, payload: unknown) => hub.broadcast(event, payload, { audience: "operators", filter: isPairer })
    const resolved = (requestId: string, deviceId: string, decision: "approved" | "rejected") =>
      Effect.flatMap(Clock.currentTimeMillis, (ts) => toPairers("device.pair.resolved", { requestId, deviceId, decision, ts }))
    const closeDevice = (deviceId: string, role: string | undefined, reason: string) =>
      Effect.flatMap(hub.connections, (all) =>
        Effect.forEach(
          all.filter((c: LiveConnection) => c.principal.deviceId === deviceId && (role === undefined || c.principal.role === role)),
          (c) => c.close(CloseCode.credentialsRevoked, reason),
          { discard: true }
        ))

    const admit: DevicePairingShape["admit"] = (ask, silentAllowed) =>
      Effect.flatMap(lift(store.admit(ask, silentAllowed)), (outcome): Effect.Effect<Admission> => {
        switch (outcome._tag) {
          case "Paired":
            return Effect.succeed(paired(outcome.token, ask))
          case "Approved":
            return Effect.as(
              Effect.andThen(
                Effect.logInfo(`device pairing auto-approved (direct loopback) device=${ask.deviceId} role=${ask.role}`),
                resolved(outcome.requestId, ask.deviceId, "approved")
              ),
              paired(outcome.token, ask)
            )
          case "Requested":
            return Effect.as(
              outcome.created ? toPairers("device.pair.requested", outcome.request) : Effect.void,
              { _tag: "Pending", request: outcome.request } as const
            )
        }
      })

    const approve: DevicePairingShape["approve"] = (requestId, caller) =>
      Effect.gen(function*() {
        const pending = yield* lift(store.request(requestId))
        const device = yield* lift(store.approve(requestId, { _tag: "Operator", scopes: caller.scopes })).pipe(
          Effect.catchReason("DevicePairingError", "PairingRefused", (refused) =>
            pending !== undefined && caller.deviceId === pending.deviceId && refused.code === "caller-missing-scope"
              ? Effect.fail(new DevicePairingError({ reason: new SelfApprovalDenied({ requestId, reason: pending.reason }) }))
              : Effect.fail(new DevicePairingError({ reason: refused })))
        )
        yield* resolved(requestId, device.deviceId, "approved")
        return summarize(device)
      })

    return DevicePairing.of({
      admit,
      verifyToken: (ask, token) => lift(store.verifyToken(ask, token)),
      redeemSetupCode: (ask, code) => Effect.map(lift(store.redeemSetupCode(ask, code)), (token) => paired(token, ask)),
      list: Effect.map(lift(store.list), ({ paired, pending }) => ({ pending, paired: paired.map(summarize) })),
      approve,
      reject: (requestId) =>
        Effect.tap(lift(store.reject(requestId)), (request) => resolved(requestId, request.deviceId, "rejected")),
      remove: (deviceId) => Effect.andThen(lift(store.remove(deviceId)), closeDevice(deviceId, undefined, "device removed")),
      rename: (deviceId, label) => Effect.map(lift(store.rename(deviceId, label)), summarize),
      rotate: (deviceId, role, scopes, caller) =>
        Effect.gen(function*() {
          const token = yield* lift(store.rotate(deviceId, role, scopes, caller.scopes))
          // A device rotating its own token must receive the new one on the session that asked: its
          // sessions end just after the answer is written (the old token is already refused).
          yield* caller.deviceId === deviceId
            ? Effect.asVoid(Effect.forkIn(Effect.delay(closeDevice(deviceId, role, "device token rotated"), SELF_ROTATE_GRACE), scope))
            : closeDevice(deviceId, role, "device token rotated")
          return { token: token.token, scopes: token.scopes, rotatedAtMs: token.rotatedAtMs ?? token.createdAtMs }
        }),
      revoke: (deviceId, role) =>
        Effect.gen(function*() {
          const token = yield* lift(store.revoke(deviceId, role))
          yield* closeDevice(deviceId, role, "device token revoked")
          return { revokedAtMs: token.revokedAtMs ?? token.createdAtMs }
        }),
      revokeSilent: Effect.tap(lift(store.revokeSilent), (ids) =>
        Effect.forEach(ids, (id) => closeDevice(id, undefined, "gateway secret rotated"), { discard: true })),
      createSetupCode: (role, scopes) => lift(store.createSetupCode(role, scopes))
    })
  })
)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

/** How long the sessions of a device that rotated its own token outlive the answer carrying the new token. */
export const SELF_ROTATE_GRACE = Duration.millis(250)

const lift = <A>(effect: Effect.Effect<A, PairingStoreError>) =>
  Effect.mapError(effect, (e) => new DevicePairingError({ reason: e.reason }))

const paired = (token: DeviceToken, ask: Ask): Admission => ({
  _tag: "Paired",
  token: token.token,
  issuedAtMs: token.rotatedAtMs ?? token.createdAtMs,
  scopes: ask.scopes
})
