import * as Effect from "effect/Effect"
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto"
import { rawPublicKey } from "../../src/identity/deviceIdentity.ts"
import { deviceIdFromRaw, payloadV3 } from "../../src/protocol/deviceAuth.ts"
import type { WsTestClient } from "./wsClient.ts"

export interface TestDevice {
  readonly deviceId: string
  readonly publicKey: string
  readonly privateKey: KeyObject
}

export const newDevice = (): TestDevice => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519")
  const raw = rawPublicKey(publicKey)
  return { deviceId: deviceIdFromRaw(raw), publicKey: raw.toString("base64url"), privateKey }
}

export interface ConnectOptions {
  readonly role?: "operator" | "node"
  readonly scopes?: ReadonlyArray<string>
  readonly auth?: Record<string, string>
  readonly client?: Record<string, string>
  readonly signedAt?: number
  readonly nonce?: string
  readonly commands?: ReadonlyArray<string>
  readonly caps?: ReadonlyArray<string>
}

/** A signed connect params object for a device, answering `challenge`. */
export const signedConnect = (device: TestDevice, challenge: { nonce: string; ts: number }, o: ConnectOptions = {}) => {
  const role = o.role ?? "operator"
  const scopes = o.scopes ?? (role === "operator" ? ["operator.read"] : [])
  const client = { id: role === "node" ? "node-host" : "cli", version: "test", platform: "linux", deviceFamily: "Linux", mode: role === "node" ? "node" : "cli", ...o.client }
  const auth = o.auth ?? {}
  const signedAt = o.signedAt ?? challenge.ts
  const nonce = o.nonce ?? challenge.nonce
  const payload = payloadV3({
    deviceId: device.deviceId,
    clientId: client.id,
    clientMode: client.mode,
    role,
    scopes,
    signedAtMs: signedAt,
    token: auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? "",
    nonce,
    platform: client.platform,
    deviceFamily: client.deviceFamily
  })
  return {
    minProtocol: 4,
    maxProtocol: 4,
    client,
    role,
    scopes,
    auth,
    ...(o.commands === undefined ? {} : { commands: o.commands }),
    ...(o.caps === undefined ? {} : { caps: o.caps }),
    device: {
      id: device.deviceId,
      publicKey: device.publicKey,
      signature: sign(null, Buffer.from(payload), device.privateKey).toString("base64url"),
      signedAt,
      nonce
    }
  }
}

/** Reads the challenge, sends a signed connect, returns the connect response. */
export const connectDevice = (c: WsTestClient, device: TestDevice, o: ConnectOptions = {}) =>
  Effect.gen(function*() {
    const challenge = yield* c.nextMatching((f) => f.event === "connect.challenge")
    yield* c.send({ type: "req", id: "connect", method: "connect", params: signedConnect(device, challenge.payload, o) })
    return yield* c.nextMatching((f) => f.id === "connect")
  })
