/**
 * The device pairing state as stored: pending requests, paired devices with
 * their per-role tokens, and setup codes. Decoded with Schema when read from disk.
 */
import * as Schema from "effect/Schema"

/** Pending requests expire after 5 minutes. */
export const PENDING_TTL_MS = 5 * 60 * 1000
/** Setup codes expire after 10 minutes. */
export const SETUP_CODE_TTL_MS = 10 * 60 * 1000

export const PAIRING_REASONS = ["not-paired", "role-upgrade", "scope-upgrade", "metadata-upgrade"] as const
export type PairingReason = typeof PAIRING_REASONS[number]

/** A list of strings. */
export const Strings = Schema.Array(Schema.String)
/** Epoch milliseconds. */
export const Millis = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const opt = Schema.optionalKey

export const PendingRequest = Schema.Struct({
  requestId: Schema.String,
  deviceId: Schema.String,
  publicKey: Schema.String,
  displayName: opt(Schema.String),
  platform: opt(Schema.String),
  deviceFamily: opt(Schema.String),
  clientId: Schema.String,
  clientMode: Schema.String,
  role: Schema.String,
  roles: Strings,
  scopes: Strings,
  remoteIp: opt(Schema.String),
  silent: Schema.Boolean,
  isRepair: Schema.Boolean,
  reason: Schema.Literals(PAIRING_REASONS),
  ts: Millis
})
export type PendingRequest = typeof PendingRequest.Type

export const DeviceToken = Schema.Struct({
  token: Schema.String,
  role: Schema.String,
  scopes: Strings,
  createdAtMs: Millis,
  rotatedAtMs: opt(Millis),
  revokedAtMs: opt(Millis),
  lastUsedAtMs: opt(Millis)
})
export type DeviceToken = typeof DeviceToken.Type

export const APPROVED_VIA = ["silent", "owner", "setup-code"] as const

export const PairedDevice = Schema.Struct({
  deviceId: Schema.String,
  publicKey: Schema.String,
  displayName: opt(Schema.String),
  platform: opt(Schema.String),
  deviceFamily: opt(Schema.String),
  clientId: opt(Schema.String),
  clientMode: opt(Schema.String),
  roles: Strings,
  approvedScopes: Strings,
  tokens: Schema.Record(Schema.String, DeviceToken),
  remoteIp: opt(Schema.String),
  approvedVia: Schema.Literals(APPROVED_VIA),
  createdAtMs: Millis,
  approvedAtMs: Millis,
  /** The operator's name for the device (`devices rename`), kept across re-approvals. */
  label: opt(Schema.String)
})
export type PairedDevice = typeof PairedDevice.Type

export const SetupCode = Schema.Struct({
  /** SHA-256 of the bootstrap token; the token itself is never stored. */
  hash: Schema.String,
  role: Schema.Literals(["operator", "node"]),
  scopes: Strings,
  createdAtMs: Millis,
  expiresAtMs: Millis,
  redeemedAtMs: opt(Millis),
  deviceId: opt(Schema.String)
})
export type SetupCode = typeof SetupCode.Type

export const PairingState = Schema.Struct({
  version: Schema.Literal(1),
  pending: Schema.Record(Schema.String, PendingRequest),
  paired: Schema.Record(Schema.String, PairedDevice),
  setupCodes: Schema.Record(Schema.String, SetupCode)
})
export type PairingState = typeof PairingState.Type

export const emptyPairingState: PairingState = { version: 1, pending: {}, paired: {}, setupCodes: {} }
