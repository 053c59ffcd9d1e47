/**
 * DevicePairing: the gateway's admission decisions for devices, on top of the
 * PairingStore. It admits connecting devices, tells operators holding
 * `operator.pairing` about requests and decisions, and closes a device's live
 * sockets (4001) when its access changes. One implementation: `DevicePairingLive`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { PendingRequest } from "../pairing/model.ts"
import type * as Policy from "../pairing/policy.ts"
import type { DeviceSummary } from "../pairing/summary.ts"
import { PairingRefused, PairingUnavailable } from "./PairingStore.ts"

export type { DeviceSummary } from "../pairing/summary.ts"

/** A device tried to approve its own request without holding what it asks for. */
export class SelfApprovalDenied extends Schema.TaggedClass<SelfApprovalDenied>()("SelfApprovalDenied", {
  requestId: Schema.String,
  reason: Schema.String
}) {}

export class DevicePairingError extends Schema.TaggedError<DevicePairingError>()("DevicePairingError", {
  reason: Schema.Union([PairingRefused, PairingUnavailable, SelfApprovalDenied])
}) {}

/** The outcome of admitting a device at connect time. */
export type Admission =
  | { readonly _tag: "Paired"; readonly token: string; readonly issuedAtMs: number; readonly scopes: ReadonlyArray<string> }
  | { readonly _tag: "Pending"; readonly request: PendingRequest }

/** Who is asking for a pairing operation. */
export interface Caller {
  readonly scopes: ReadonlyArray<string>
  readonly deviceId: string | undefined
}

export interface DevicePairingShape {
  /** Admits a connecting device (silently on direct loopback when allowed). */
  readonly admit: (ask: Policy.Ask, silentAllowed: boolean) => Effect.Effect<Admission, DevicePairingError>
  readonly verifyToken: (ask: Policy.Ask, token: string) => Effect.Effect<Policy.TokenCheck, DevicePairingError>
  readonly redeemSetupCode: (ask: Policy.Ask, code: string) => Effect.Effect<Admission, DevicePairingError>
  readonly list: Effect.Effect<{ readonly pending: ReadonlyArray<PendingRequest>; readonly paired: ReadonlyArray<DeviceSummary> }, DevicePairingError>
  readonly approve: (requestId: string, caller: Caller) => Effect.Effect<DeviceSummary, DevicePairingError>
  readonly reject: (requestId: string) => Effect.Effect<PendingRequest, DevicePairingError>
  readonly remove: (deviceId: string) => Effect.Effect<void, DevicePairingError>
  /** Sets the operator's name for a paired device. */
  readonly rename: (deviceId: string, label: string) => Effect.Effect<DeviceSummary, DevicePairingError>
  readonly rotate: (deviceId: string, role: string, scopes: ReadonlyArray<string> | undefined, caller: Caller) => Effect.Effect<{ readonly token: string; readonly scopes: ReadonlyArray<string>; readonly rotatedAtMs: number }, DevicePairingError>
  readonly revoke: (deviceId: string, role: string) => Effect.Effect<{ readonly revokedAtMs: number }, DevicePairingError>
  /** Revokes the tokens of every silently approved device and closes their sessions (the shared secret was rotated). */
  readonly revokeSilent: Effect.Effect<ReadonlyArray<string>, DevicePairingError>
  readonly createSetupCode: (role: "operator" | "node", scopes: ReadonlyArray<string>) => Effect.Effect<{ readonly token: string; readonly expiresAtMs: number }, DevicePairingError>
}

export class DevicePairing extends Context.Service<DevicePairing, DevicePairingShape>()("gatehouse/services/DevicePairing") {}
