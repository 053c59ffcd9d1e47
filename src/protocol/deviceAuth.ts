/**
 * Device signatures: the v2 and v3 payloads a device signs with its Ed25519 key,
 * and their verification. Keys and signatures travel as base64url; the device
 * id is the hex SHA-256 of the raw 32-byte public key. Imported keys are cached
 * (bounded), so a device that reconnects is not decoded, hashed and imported again.
 */
import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto"
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
export const normalizeMetadata = (value: string | undefined): string => {
  const trimmed = (value ?? "").trim()
  return /[A-Z]/.test(trimmed) ? trimmed.replace(/[A-Z]/g, (c) => c.toLowerCase()) : trimmed
}

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
  const known = publicKeyOf(proof.publicKey)
  if (known === undefined) return "DEVICE_AUTH_PUBLIC_KEY_INVALID"
  if (known.deviceId !== proof.id) return "DEVICE_AUTH_DEVICE_ID_MISMATCH"
  if (Math.abs(nowMs - proof.signedAt) > DEVICE_SIGNATURE_SKEW_MS) return "DEVICE_AUTH_SIGNATURE_EXPIRED"
  if (proof.nonce.length === 0) return "DEVICE_AUTH_NONCE_REQUIRED"
  if (proof.nonce !== challengeNonce) return "DEVICE_AUTH_NONCE_MISMATCH"
  if (proof.signature.length > 200) return "DEVICE_AUTH_SIGNATURE_INVALID"
  const signature = Buffer.from(proof.signature.replace(/-/g, "+").replace(/_/g, "/"), "base64")
  const key = known.key
  const signed = { ...fields, deviceId: proof.id, signedAtMs: proof.signedAt, nonce: proof.nonce }
  const ok = verify(null, Buffer.from(payloadV3(signed)), key, signature) ||
    verify(null, Buffer.from(payloadV2(signed)), key, signature)
  return ok ? undefined : "DEVICE_AUTH_SIGNATURE_INVALID"
}

/** The most public keys kept imported: a reconnecting device skips the import, a flood of new keys only churns. */
export const PUBLIC_KEY_CACHE_SIZE = 1024

interface KnownKey {
  readonly deviceId: string
  readonly key: KeyObject
}

// Keyed by the key as the device sent it: decoding, hashing and importing are pure functions of that string.
const knownKeys = new Map<string, KnownKey>()

// The imported key and device id of an encoded public key (cached, least recently used evicted); undefined when invalid.
const publicKeyOf = (encoded: string): KnownKey | undefined => {
  const hit = knownKeys.get(encoded)
  if (hit !== undefined) {
    knownKeys.delete(encoded)
    knownKeys.set(encoded, hit)
    return hit
  }
  const raw = decodePublicKey(encoded)
  if (raw === undefined) return undefined
  const known = {
    deviceId: deviceIdFromRaw(raw),
    key: createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" })
  }
  if (knownKeys.size >= PUBLIC_KEY_CACHE_SIZE) knownKeys.delete(knownKeys.keys().next().value!)
  knownKeys.set(encoded, known)
  return known
}

/** How many imported public keys are cached (tests). */
export const cachedPublicKeys = (): number => knownKeys.size

/** A human sentence for each failure. */
export const deviceAuthMessage: Record<DeviceAuthFailure, string> = {
  DEVICE_AUTH_PUBLIC_KEY_INVALID: "device public key is not a 32-byte Ed25519 key in base64url",
  DEVICE_AUTH_DEVICE_ID_MISMATCH: "device identity mismatch: the device id is not the SHA-256 of its public key",
  DEVICE_AUTH_SIGNATURE_EXPIRED: "device signature expired: signedAt is more than 2 minutes from the gateway's clock (check the device's clock)",
  DEVICE_AUTH_NONCE_REQUIRED: "device nonce required: sign the nonce from connect.challenge",
  DEVICE_AUTH_NONCE_MISMATCH: "device nonce mismatch: sign the nonce of this connection's connect.challenge",
  DEVICE_AUTH_SIGNATURE_INVALID: "device signature invalid"
}
