/**
 * Device signatures: the v2 and v3 payloads a device signs with its Ed25519 key,
 * and their verification. Keys and signatures travel as base64url; the device
 * id is the hex SHA-256 of the raw 32-byte public key.
 */
import { createHash, createPublicKey, verify } from "node:crypto"
import type { DeviceProof } from "./connect.ts"

/** Allowed distance between the device's `signedAt` and the gateway's clock. */
export const DEVICE_SIGNATURE_SKEW_MS = 2 * 60 * 1000

export interface SignedFields {
  readonly deviceId: string
  readonly clientId: string
  readonly clientMode: string
  readonly role: string
  readonly scopes: ReadonlyArray<string>
  readonly signedAtMs: number
  readonly token: string
  readonly nonce: string
  readonly platform?: string | undefined
  readonly deviceFamily?: string | undefined
}

/** Trims and lowercases ASCII A-Z only, as OpenClaw does for signed metadata. */
export const normalizeMetadata = (value: string | undefined): string =>
  (value ?? "").trim().replace(/[A-Z]/g, (c) => c.toLowerCase())

/** The v2 signed string (no platform metadata). */
export const payloadV2 = (f: SignedFields): string =>
  ["v2", f.deviceId, f.clientId, f.clientMode, f.role, f.scopes.join(","), String(f.signedAtMs), f.token, f.nonce].join("|")

/** The v3 signed string (v2 plus normalized platform and device family). */
export const payloadV3 = (f: SignedFields): string =>
  [
    "v3",
    f.deviceId,
    f.clientId,
    f.clientMode,
    f.role,
    f.scopes.join(","),
    String(f.signedAtMs),
    f.token,
    f.nonce,
    normalizeMetadata(f.platform),
    normalizeMetadata(f.deviceFamily)
  ].join("|")

/** The DER SPKI header that precedes a raw 32-byte Ed25519 public key. */
export const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex")

/** Decodes a raw Ed25519 public key from base64url (or padded base64); undefined when it is not 32 bytes. */
export const decodePublicKey = (encoded: string): Buffer | undefined => {
  if (encoded.length > 64 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) return undefined
  const raw = Buffer.from(encoded.replace(/-/g, "+").replace(/_/g, "/"), "base64")
  return raw.length === 32 ? raw : undefined
}

/** Hex SHA-256 of a raw public key. */
export const deviceIdFromRaw = (raw: Uint8Array): string => createHash("sha256").update(raw).digest("hex")

export type DeviceAuthFailure =
  | "DEVICE_AUTH_PUBLIC_KEY_INVALID"
  | "DEVICE_AUTH_DEVICE_ID_MISMATCH"
  | "DEVICE_AUTH_SIGNATURE_EXPIRED"
  | "DEVICE_AUTH_NONCE_REQUIRED"
  | "DEVICE_AUTH_NONCE_MISMATCH"
  | "DEVICE_AUTH_SIGNATURE_INVALID"

/**
 * Checks a device proof against the challenge nonce and the gateway's clock;
 * returns the failure code, or undefined when the proof holds.
 */
export const verifyDeviceProof = (
  proof: DeviceProof,
  fields: Omit<SignedFields, "deviceId" | "signedAtMs" | "nonce">,
  challengeNonce: string,
  nowMs: number
): DeviceAuthFailure | undefined => {
  const raw = decodePublicKey(proof.publicKey)
  if (raw === undefined) return "DEVICE_AUTH_PUBLIC_KEY_INVALID"
  if (deviceIdFromRaw(raw) !== proof.id) return "DEVICE_AUTH_DEVICE_ID_MISMATCH"
  if (Math.abs(nowMs - proof.signedAt) > DEVICE_SIGNATURE_SKEW_MS) return "DEVICE_AUTH_SIGNATURE_EXPIRED"
  if (proof.nonce.length === 0) return "DEVICE_AUTH_NONCE_REQUIRED"
  if (proof.nonce !== challengeNonce) return "DEVICE_AUTH_NONCE_MISMATCH"
  if (proof.signature.length > 200) return "DEVICE_AUTH_SIGNATURE_INVALID"
  const signature = Buffer.from(proof.signature.replace(/-/g, "+").replace(/_/g, "/"), "base64")
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" })
  const signed = { ...fields, deviceId: proof.id, signedAtMs: proof.signedAt, nonce: proof.nonce }
  const ok = verify(null, Buffer.from(payloadV3(signed)), key, signature) ||
    verify(null, Buffer.from(payloadV2(signed)), key, signature)
  return ok ? undefined : "DEVICE_AUTH_SIGNATURE_INVALID"
}

/** A human sentence for each failure. */
export const deviceAuthMessage: Record<DeviceAuthFailure, string> = {
  DEVICE_AUTH_PUBLIC_KEY_INVALID: "device public key is not a 32-byte Ed25519 key in base64url",
  DEVICE_AUTH_DEVICE_ID_MISMATCH: "device identity mismatch: the device id is not the SHA-256 of its public key",
  DEVICE_AUTH_SIGNATURE_EXPIRED: "device signature expired: signedAt is more than 2 minutes from the gateway's clock (check the device's clock)",
  DEVICE_AUTH_NONCE_REQUIRED: "device nonce required: sign the nonce from connect.challenge",
  DEVICE_AUTH_NONCE_MISMATCH: "device nonce mismatch: sign the nonce of this connection's connect.challenge",
  DEVICE_AUTH_SIGNATURE_INVALID: "device signature invalid"
}
