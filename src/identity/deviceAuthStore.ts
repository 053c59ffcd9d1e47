/**
 * The client's stored device tokens, `<stateDir>/identity/device-auth.json`
 * (0600): one token per role for this host's device, remembered with the URL of
 * the gateway that issued it and sent to no other.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomic } from "../fs/atomicWrite.ts"

const StoredToken = Schema.Struct({
  token: Schema.String,
  role: Schema.String,
  scopes: Schema.Array(Schema.String),
  updatedAtMs: Schema.Number,
  gatewayUrl: Schema.optionalKey(Schema.String)
})
const DeviceAuthFile = Schema.Struct({
  version: Schema.Literal(1),
  deviceId: Schema.String,
  tokens: Schema.Record(Schema.String, StoredToken)
})
type DeviceAuthFile = typeof DeviceAuthFile.Type
const decode = Schema.decodeUnknownResult(Schema.fromJsonString(DeviceAuthFile))

/** Path of the device token file under a state dir. */
export const deviceAuthPath = (stateDir: string) => join(stateDir, "identity", "device-auth.json")

/** The stored token of `deviceId` for `role`, if the gateway at `gatewayUrl` issued it. */
export const loadDeviceToken = (stateDir: string, deviceId: string, role: string, gatewayUrl: string) =>
  Effect.map(readStore(stateDir), (store) => {
    const entry = store?.deviceId === deviceId ? store.tokens[role] : undefined
    return entry?.gatewayUrl === gatewayUrl ? entry.token : undefined
  })

/** Stores the token the gateway at `gatewayUrl` issued for `role`. */
export const saveDeviceToken = (
  stateDir: string,
  deviceId: string,
  role: string,
  token: string,
  scopes: ReadonlyArray<string>,
  gatewayUrl: string
) =>
  Effect.gen(function*() {
    const current = yield* readStore(stateDir)
    const base: DeviceAuthFile = current?.deviceId === deviceId ? current : { version: 1, deviceId, tokens: {} }
    if (base.tokens[role]?.token === token && base.tokens[role]?.gatewayUrl === gatewayUrl) return
    const updatedAtMs = yield* Clock.currentTimeMillis
    const next: DeviceAuthFile = { ...base, tokens: { ...base.tokens, [role]: { token, role, scopes: [...scopes], updatedAtMs, gatewayUrl } } }
    yield* writeFileAtomic(deviceAuthPath(stateDir), JSON.stringify(next, null, 2) + "\n").pipe(Effect.ignore)
  })

/** Forgets the stored token for `role` (after the gateway said it no longer matches). */
export const forgetDeviceToken = (stateDir: string, deviceId: string, role: string) =>
  Effect.gen(function*() {
    const current = yield* readStore(stateDir)
    if (current?.deviceId !== deviceId || current.tokens[role] === undefined) return
    const tokens = { ...current.tokens }
    delete tokens[role]
    yield* writeFileAtomic(deviceAuthPath(stateDir), JSON.stringify({ ...current, tokens }, null, 2) + "\n").pipe(Effect.ignore)
  })

const readStore = (stateDir: string) =>
  Effect.promise(() => readFile(deviceAuthPath(stateDir), "utf8").catch(() => undefined)).pipe(
    Effect.map((text) => {
      if (text === undefined) return undefined
      const r = decode(text)
      return Result.isSuccess(r) ? r.success : undefined
    })
  )
