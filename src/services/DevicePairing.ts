/**
 * DevicePairing: the gateway's admission decisions for devices, on top of the
 * PairingStore. It opens and resolves pending requests, mints and checks device
 * tokens, redeems setup codes, tells operators holding `operator.pairing` about
 * requests, and closes a device's live sockets (4001) when its access changes.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type DeviceToken, type PairedDevice, type PairingState, type PendingRequest, SETUP_CODE_TTL_MS } from "../pairing/model.ts"
import * as Policy from "../pairing/policy.ts"
import { freshValues, transitions } from "../pairing/transitions.ts"
import { CloseCode } from "../protocol/constants.ts"
import { ErrorCode, GatewayError } from "../protocol/errors.ts"
import { ConnectionHub, isPairer, type LiveConnection } from "./ConnectionHub.ts"
import { PairingStore } from "./PairingStore.ts"

/** The outcome of admitting a device at connect time. */
export type Admission =
  | { readonly _tag: "Paired"; readonly token: string; readonly issuedAtMs: number; readonly scopes: ReadonlyArray<string> }
  | { readonly _tag: "Pending"; readonly request: PendingRequest }

/** A paired device as listed to operators (token strings never leave the gateway this way). */
export interface DeviceSummary extends Omit<PairedDevice, "tokens"> {
  readonly role: string | undefined
  readonly scopes: ReadonlyArray<string>
  readonly tokens: ReadonlyArray<{ readonly role: string; readonly scopes: ReadonlyArray<string>; readonly createdAtMs: number; readonly rotatedAtMs?: number; readonly revokedAtMs?: number }>
}

export interface DevicePairingShape {
  readonly admit: (ask: Policy.Ask, silentAllowed: boolean) => Effect.Effect<Admission>
  readonly verifyToken: (ask: Policy.Ask, token: string) => Effect.Effect<Policy.TokenCheck>
  readonly redeemSetupCode: (ask: Policy.Ask, code: string) => Effect.Effect<Admission, GatewayError>
  readonly list: Effect.Effect<{ readonly pending: ReadonlyArray<PendingRequest>; readonly paired: ReadonlyArray<DeviceSummary> }>
  readonly approve: (requestId: string, caller: Caller) => Effect.Effect<DeviceSummary, GatewayError>
  readonly reject: (requestId: string) => Effect.Effect<PendingRequest, GatewayError>
  readonly remove: (deviceId: string) => Effect.Effect<void, GatewayError>
  readonly rotate: (deviceId: string, role: string, scopes: ReadonlyArray<string> | undefined, caller: Caller) => Effect.Effect<{ readonly token: string; readonly scopes: ReadonlyArray<string>; readonly rotatedAtMs: number }, GatewayError>
  readonly revoke: (deviceId: string, role: string) => Effect.Effect<{ readonly revokedAtMs: number }, GatewayError>
  readonly createSetupCode: (role: "operator" | "node", scopes: ReadonlyArray<string>) => Effect.Effect<{ readonly token: string; readonly expiresAtMs: number }, GatewayError>
}

/** Who is asking for a pairing operation. */
export interface Caller {
  readonly scopes: ReadonlyArray<string>
  readonly deviceId: string | undefined
}

export class DevicePairing extends Context.Service<DevicePairing, DevicePairingShape>()("gatehouse/services/DevicePairing") {
  static readonly layer = Layer.effect(
    DevicePairing,
    Effect.gen(function*() {
      const store = yield* PairingStore
      const hub = yield* ConnectionHub
      const { apply, modify } = transitions(store, Policy.prune, "pairing state")
      const toPairers = (event: string, payload: unknown) => hub.broadcast(event, payload, { filter: isPairer })
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
        Effect.orDie(modify((s, fr): readonly [Admission | { _tag: "Approved"; requestId: string; admission: Admission } | { _tag: "Requested"; request: PendingRequest; created: boolean }, PairingState] => {
          const reason = Policy.classify(s, ask)
          if (reason === undefined) {
            const ensured = Policy.ensureToken(s, ask.deviceId, ask.role, ask.scopes, fr)
            if (ensured !== undefined) return [paired(ensured.token, ask), ensured.state]
          }
          const why = reason ?? "scope-upgrade"
          const silent = silentAllowed && (why === "not-paired" || why === "role-upgrade")
          const opened = Policy.requestPairing(s, ask, why, silent, fr)
          if (!silent) return [{ _tag: "Requested", request: opened.request, created: opened.created }, opened.state]
          const approved = Policy.approve(opened.state, opened.request.requestId, { _tag: "Gateway", via: "silent" }, fr)
          if (!approved.ok) return [{ _tag: "Requested", request: opened.request, created: opened.created }, opened.state]
          const ensured = Policy.ensureToken(approved.state, ask.deviceId, ask.role, ask.scopes, fr)!
          return [{ _tag: "Approved", requestId: opened.request.requestId, admission: paired(ensured.token, ask) }, ensured.state]
        })).pipe(Effect.flatMap((result) => {
          switch (result._tag) {
            case "Paired":
            case "Pending":
              return Effect.succeed(result)
            case "Approved":
              return Effect.as(
                Effect.andThen(Effect.logInfo(`device pairing auto-approved (direct loopback) device=${ask.deviceId} role=${ask.role}`), resolved(result.requestId, ask.deviceId, "approved")),
                result.admission
              )
            case "Requested":
              return Effect.as(
                result.created ? toPairers("device.pair.requested", result.request) : Effect.void,
                { _tag: "Pending", request: result.request } as const
              )
          }
        }))

      const verifyToken: DevicePairingShape["verifyToken"] = (ask, token) =>
        Effect.map(store.get, (s) => Policy.verifyToken(s, ask.deviceId, ask.publicKey, ask.role, token, ask.scopes))

      const redeemSetupCode: DevicePairingShape["redeemSetupCode"] = (ask, code) =>
        modify((s, fr): readonly [Policy.Refusal | Admission, PairingState] => {
          const redeemed = Policy.redeemSetupCode(s, code, ask.deviceId, ask.role, ask.scopes, fr.now)
          if (!redeemed.ok) return [redeemed.refusal, s]
          const opened = Policy.requestPairing(redeemed.state, { ...ask, scopes: redeemed.value.scopes }, "not-paired", true, fr)
          const approved = Policy.approve(opened.state, opened.request.requestId, { _tag: "Gateway", via: "setup-code" }, fr)
          if (!approved.ok) return [approved.refusal, s]
          const ensured = Policy.ensureToken(approved.state, ask.deviceId, ask.role, ask.scopes, fr)!
          return [paired(ensured.token, ask), ensured.state]
        }).pipe(Effect.flatMap((r) =>
          "code" in r
            ? Effect.fail(new GatewayError({ code: ErrorCode.invalidRequest, message: `unauthorized: ${r.message}`, details: { code: "AUTH_BOOTSTRAP_TOKEN_INVALID", authReason: "bootstrap_token_invalid", recommendedNextStep: "update_auth_credentials" } }))
            : Effect.succeed(r)
        ))

      const list = Effect.flatMap(freshValues, (fr) =>
        Effect.map(store.get, (raw) => {
          const s = Policy.prune(raw, fr.now)
          return {
            pending: Object.values(s.pending).sort((a, b) => a.ts - b.ts),
            paired: Object.values(s.paired).sort((a, b) => a.approvedAtMs - b.approvedAtMs).map(summarize)
          }
        }))

      const approve: DevicePairingShape["approve"] = (requestId, caller) =>
        Effect.gen(function*() {
          const pending = (yield* store.get).pending[requestId]
          const outcome = yield* Effect.result(apply((s, fr) => Policy.approve(s, requestId, { _tag: "Operator", scopes: caller.scopes }, fr)))
          if (outcome._tag === "Failure") {
            const failure = outcome.failure
            const self = pending !== undefined && caller.deviceId === pending.deviceId &&
              (failure.details as { code?: unknown } | undefined)?.code === "caller-missing-scope"
            return yield* self
              ? new GatewayError({
                code: ErrorCode.forbidden,
                message: `this device can't approve its own ${pending.reason}; approve it on the gateway host with \`gatehouse devices approve ${requestId}\`, or from another operator holding operator.pairing and the requested scopes`,
                details: { code: "SELF_APPROVAL_DENIED" }
              })
              : failure
          }
          yield* resolved(requestId, outcome.success.deviceId, "approved")
          return summarize(outcome.success)
        })

      const reject: DevicePairingShape["reject"] = (requestId) =>
        Effect.gen(function*() {
          const request = yield* apply((s) => Policy.reject(s, requestId))
          yield* resolved(requestId, request.deviceId, "rejected")
          return request
        })

      const remove: DevicePairingShape["remove"] = (deviceId) =>
        Effect.gen(function*() {
          yield* apply((s) => Policy.remove(s, deviceId))
          yield* closeDevice(deviceId, undefined, "device removed")
        })

      const rotate: DevicePairingShape["rotate"] = (deviceId, role, scopes, caller) =>
        Effect.gen(function*() {
          const token = yield* apply((s, fr) => Policy.rotate(s, deviceId, role, scopes, caller.scopes, fr))
          yield* closeDevice(deviceId, role, "device token rotated")
          return { token: token.token, scopes: token.scopes, rotatedAtMs: token.rotatedAtMs ?? token.createdAtMs }
        })

      const revoke: DevicePairingShape["revoke"] = (deviceId, role) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const token = yield* apply((s) => Policy.revoke(s, deviceId, role, now))
          yield* closeDevice(deviceId, role, "device token revoked")
          return { revokedAtMs: token.revokedAtMs ?? now }
        })

      const createSetupCode: DevicePairingShape["createSetupCode"] = (role, scopes) =>
        modify((s, fr) => {
          const token = fr.token()
          const added = Policy.addSetupCode(s, token, role, scopes, fr.now, SETUP_CODE_TTL_MS)
          return [{ token, expiresAtMs: added.code.expiresAtMs }, added.state] as const
        })

      return DevicePairing.of({ admit, verifyToken, redeemSetupCode, list, approve, reject, remove, rotate, revoke, createSetupCode })
    })
  )
}

const paired = (token: DeviceToken, ask: Policy.Ask): Admission => ({
  _tag: "Paired",
  token: token.token,
  issuedAtMs: token.rotatedAtMs ?? token.createdAtMs,
  scopes: ask.scopes
})

/** A paired device without its token strings. */
export const summarize = (d: PairedDevice): DeviceSummary => {
  const { tokens, ...rest } = d
  return {
    ...rest,
    role: d.roles[0],
    scopes: d.approvedScopes,
    tokens: Object.values(tokens).map(({ token: _, ...t }) => t)
  }
}
