/**
 * Device pairing and device tokens, all behind `operator.pairing`.
 */
import * as Schema from "effect/Schema"
import { MethodAccess, operator } from "../access.ts"
import { absentWhenUndefined } from "../json.ts"
import { method } from "./define.ts"
const pairing = operator("operator.pairing")
const Id = Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(128))
const Role = Schema.Literals(["operator", "node"])
const Scopes = Schema.Array(Schema.String.check(Schema.isMaxLength(64))).check(Schema.isMaxLength(16))
const opt = Schema.optionalKey
const Strings = Schema.Array(Schema.String)

// Results. Fields are declared in the order the gateway builds them, which is the order on the wire.

/** A device waiting for an operator's approval. */
export const DevicePendingRequest = Schema.Struct({
  requestId: Schema.String,
  deviceId: Schema.String,
  publicKey: Schema.String,
  clientId: Schema.String,
  clientMode: Schema.String,
  displayName: opt(Schema.String),
  platform: opt(Schema.String),
  deviceFamily: opt(Schema.String),
  remoteIp: opt(Schema.String),
  role: Schema.String,
  roles: Strings,
  scopes: Strings,
  silent: Schema.Boolean,
  isRepair: Schema.Boolean,
  /** `not-paired`, `role-upgrade`, `scope-upgrade` or `metadata-upgrade`. */
  reason: Schema.String,
  ts: Schema.Number
})
export type DevicePendingRequest = typeof DevicePendingRequest.Type

/** One of a paired device's tokens, without the token itself. */
export const DeviceTokenSummary = Schema.Struct({
  role: Schema.String,
  scopes: Strings,
  createdAtMs: Schema.Number,
  rotatedAtMs: opt(Schema.Number),
  revokedAtMs: opt(Schema.Number),
  lastUsedAtMs: opt(Schema.Number)
})

/** A paired device as operators see it (token strings never leave the gateway this way). */
export const DeviceSummary = Schema.Struct({
  deviceId: Schema.String,
  publicKey: Schema.String,
  displayName: opt(Schema.String),
  platform: opt(Schema.String),
  deviceFamily: opt(Schema.String),
  clientId: opt(Schema.String),
  clientMode: opt(Schema.String),
  remoteIp: opt(Schema.String),
  roles: Strings,
  approvedScopes: Strings,
  /** `owner`, `silent` or `setup-code`. */
  approvedVia: Schema.String,
  createdAtMs: Schema.Number,
  approvedAtMs: Schema.Number,
  /** The first of `roles`, as OpenClaw lists it. */
  role: absentWhenUndefined(Schema.String),
  scopes: Strings,
  tokens: Schema.Array(DeviceTokenSummary),
  /** The operator's name for the device, when one was given (`devices rename`). */
  label: opt(Schema.String)
})
export type DeviceSummary = typeof DeviceSummary.Type

export const DevicePairListResult = Schema.Struct({ pending: Schema.Array(DevicePendingRequest), paired: Schema.Array(DeviceSummary) })
export type DevicePairListResult = typeof DevicePairListResult.Type

// Methods

export class DevicePairList extends method("device.pair.list", {}, DevicePairListResult).annotate(MethodAccess, pairing) {}

export class DevicePairApprove extends method("device.pair.approve", { requestId: Id }, Schema.Struct({ requestId: Schema.String, device: DeviceSummary }))
  .annotate(MethodAccess, pairing) {}

export class DevicePairReject extends method("device.pair.reject", { requestId: Id }, Schema.Struct({ requestId: Schema.String, deviceId: Schema.String }))
  .annotate(MethodAccess, pairing) {}

export class DevicePairRemove extends method("device.pair.remove", { deviceId: Id }, Schema.Struct({ deviceId: Schema.String })).annotate(MethodAccess, pairing) {}

/** OpenClaw's `devices rename`: the operator's name for a paired device. */
export class DevicePairRename extends method("device.pair.rename", {
  deviceId: Id,
  label: Schema.String.check(Schema.isMaxLength(64))
}, Schema.Struct({ deviceId: Schema.String, label: Schema.String })).annotate(MethodAccess, pairing) {}

/** The new token is in the result only when a device rotates its own. */
export class DeviceTokenRotate extends method(
  "device.token.rotate",
  { deviceId: Id, role: Role, scopes: opt(Scopes) },
  Schema.Struct({ deviceId: Schema.String, role: Role, scopes: Strings, rotatedAtMs: Schema.Number, token: opt(Schema.String) })
).annotate(MethodAccess, pairing) {}

export class DeviceTokenRevoke extends method(
  "device.token.revoke",
  { deviceId: Id, role: Role },
  Schema.Struct({ deviceId: Schema.String, role: Role, revokedAtMs: Schema.Number })
).annotate(MethodAccess, pairing) {}

/** gatehouse's own: mint a single-use setup code (bootstrap token) bound to a role and scopes. */
export class DeviceBootstrapCreate extends method(
  "device.bootstrap.create",
  { role: Role, scopes: opt(Scopes) },
  Schema.Struct({ role: Role, scopes: Strings, bootstrapToken: Schema.String, expiresAtMs: Schema.Number })
).annotate(MethodAccess, pairing) {}
