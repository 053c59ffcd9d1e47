/**
 * PairingStore: device pairing as domain operations, each one atomic: admit a
 * connecting device (open, refresh or silently approve its request, or hand out
 * its token), verify device tokens, redeem setup codes, approve, reject, remove,
 * rotate, revoke. Every implementation runs the same pure transitions
 * (`pairing/policy.ts`), so their invariants are the same.
 *
 * Layers: `PairingStoreFile` (the embedded default, under the state dir),
 * `PairingStoreMemory` (tests, ephemeral gateways), `PairingStorePg` (PostgreSQL,
 * shared by several gateways).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { DeviceToken, PairedDevice, PendingRequest } from "../pairing/model.ts"
import type { Approver, Ask, TokenCheck } from "../pairing/policy.ts"

/** A pairing operation the rules refused, with the message to show a person. */
export class PairingRefused extends Schema.TaggedClass<PairingRefused>()("PairingRefused", {
  code: Schema.Literals([
    "unknown-request",
    "unknown-device",
    "caller-missing-scope",
    "scope-outside-approved",
    "role-not-approved",
    "setup-code-invalid",
    "pending-limit"
  ]),
  message: Schema.String
}) {}

/** The pairing state could not be read or saved; the operation changed nothing. */
export class PairingUnavailable extends Schema.TaggedClass<PairingUnavailable>()("PairingUnavailable", {
  message: Schema.String
}) {}

export class PairingStoreError extends Schema.TaggedError<PairingStoreError>()("PairingStoreError", {
  reason: Schema.Union([PairingRefused, PairingUnavailable])
}) {}

/** What admitting a connecting device did. */
export type AdmitOutcome =
  | { readonly _tag: "Paired"; readonly token: DeviceToken }
  | { readonly _tag: "Approved"; readonly requestId: string; readonly token: DeviceToken }
  | { readonly _tag: "Requested"; readonly request: PendingRequest; readonly created: boolean }

export interface PairingStoreShape {
  /** Admits a device: its token when paired as asked, else a (silently approved when allowed) pending request. */
  readonly admit: (ask: Ask, silentAllowed: boolean) => Effect.Effect<AdmitOutcome, PairingStoreError>
  /** Checks a presented device token against the device's current one. */
  readonly verifyToken: (ask: Ask, token: string) => Effect.Effect<TokenCheck, PairingStoreError>
  /** Spends a setup code on a device and pairs it within the code's profile. */
  readonly redeemSetupCode: (ask: Ask, code: string) => Effect.Effect<DeviceToken, PairingStoreError>
  /** Live pending requests (oldest first) and paired devices (by approval time). */
  readonly list: Effect.Effect<{ readonly pending: ReadonlyArray<PendingRequest>; readonly paired: ReadonlyArray<PairedDevice> }, PairingStoreError>
  /** A live pending request. */
  readonly request: (requestId: string) => Effect.Effect<PendingRequest | undefined, PairingStoreError>
  readonly approve: (requestId: string, approver: Approver) => Effect.Effect<PairedDevice, PairingStoreError>
  readonly reject: (requestId: string) => Effect.Effect<PendingRequest, PairingStoreError>
  readonly remove: (deviceId: string) => Effect.Effect<PairedDevice, PairingStoreError>
  /** Sets the operator's name for a paired device. */
  readonly rename: (deviceId: string, label: string) => Effect.Effect<PairedDevice, PairingStoreError>
  readonly rotate: (
    deviceId: string,
    role: string,
    scopes: ReadonlyArray<string> | undefined,
    callerScopes: ReadonlyArray<string>
  ) => Effect.Effect<DeviceToken, PairingStoreError>
  readonly revoke: (deviceId: string, role: string) => Effect.Effect<DeviceToken, PairingStoreError>
  /** Revokes the tokens of every silently approved device (the shared secret was rotated); returns their ids. */
  readonly revokeSilent: Effect.Effect<ReadonlyArray<string>, PairingStoreError>
  /** Mints a single-use setup code; only its hash is stored. */
  readonly createSetupCode: (
    role: "operator" | "node",
    scopes: ReadonlyArray<string>
  ) => Effect.Effect<{ readonly token: string; readonly expiresAtMs: number }, PairingStoreError>
}

export class PairingStore extends Context.Service<PairingStore, PairingStoreShape>()("gatehouse/services/PairingStore") {}
