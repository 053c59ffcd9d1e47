/**
 * An Ed25519 device identity, kept in `<stateDir>/identity/<name>.json` (mode
 * 0600) and created on first use: `device` is the CLI's (the file the `openclaw`
 * CLI uses too), `gateway` the gateway host's own. The device id is the hex SHA-256 of the
 * raw 32-byte public key; the public key travels as unpadded base64url.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto"
import { readFile, rename } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { deviceIdFromRaw, SPKI_ED25519_PREFIX } from "../protocol/deviceAuth.ts"

export interface DeviceIdentity {
  readonly deviceId: string
  /** Raw public key, base64url without padding. */
  readonly publicKey: string
  readonly privateKey: KeyObject
}

const StoredIdentity = Schema.Struct({
  version: Schema.Literal(1),
  deviceId: Schema.String,
  publicKeyPem: Schema.String,
  privateKeyPem: Schema.String,
  createdAtMs: Schema.Number
})
const decodeStored = Schema.decodeUnknownResult(Schema.fromJsonString(StoredIdentity))

/** The raw 32-byte public key of an Ed25519 key. */
export const rawPublicKey = (key: KeyObject): Buffer => {
  const der = (key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "der" })
  return der.subarray(SPKI_ED25519_PREFIX.length)
}

/** Path of an identity file under a state dir (`device` unless named). */
export const identityPath = (stateDir: string, name: IdentityName = "device") => join(stateDir, "identity", `${name}.json`)

/** Which of this host's identities: the CLI's (`device`) or the gateway's own (`gateway`). */
export type IdentityName = "device" | "gateway"

/** Loads the identity under `stateDir`, creating it on first use; a corrupt file is moved aside, never reused. */
export const loadOrCreateIdentity = (stateDir: string, name: IdentityName = "device"): Effect.Effect<DeviceIdentity, Error> =>
  Effect.gen(function*() {
    const path = identityPath(stateDir, name)
    const text = yield* Effect.tryPromise({ try: () => readFile(path, "utf8"), catch: (e) => e as NodeJS.ErrnoException }).pipe(
      Effect.map((t): string | undefined => t),
      Effect.catch((e) => (e.code === "ENOENT" ? Effect.succeed(undefined) : Effect.fail(new Error(`cannot read ${path}: ${e.message}`))))
    )
    if (text !== undefined) {
      const stored = decodeStored(text)
      if (Result.isSuccess(stored)) {
        const privateKey = createPrivateKey(stored.success.privateKeyPem)
        const raw = rawPublicKey(privateKey)
        return { deviceId: deviceIdFromRaw(raw), publicKey: raw.toString("base64url"), privateKey }
      }
      const aside = `${path}.corrupt-${yield* Clock.currentTimeMillis}`
      yield* Effect.tryPromise({ try: () => rename(path, aside), catch: (e) => e as Error })
      yield* Effect.logWarning(`device identity ${path} was unreadable; moved it to ${aside} and created a new one`)
    }
    const { privateKey, publicKey } = generateKeyPairSync("ed25519")
    const raw = rawPublicKey(publicKey)
    const deviceId = deviceIdFromRaw(raw)
    const record = {
      version: 1,
      deviceId,
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
      privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      createdAtMs: yield* Clock.currentTimeMillis
    }
    yield* writeFileAtomic(path, JSON.stringify(record, null, 2) + "\n")
    return { deviceId, publicKey: raw.toString("base64url"), privateKey }
  })
