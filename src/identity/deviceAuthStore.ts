/**
 * The client's stored device tokens, `<stateDir>/identity/device-auth.json`
 * (0600): one token per role and gateway for this host's device, sent only to the
 * gateway that issued it. A token from one gateway never replaces another's.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { own } from "../pairing/records.ts"

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
    if (store?.deviceId !== deviceId) return undefined
    // Files written before tokens were kept per gateway hold one slot per role.
    const entry = own(store.tokens, slot(role, gatewayUrl)) ?? own(store.tokens, role)
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
    const key = slot(role, gatewayUrl)
    if (own(base.tokens, key)?.token === token) return
    const updatedAtMs = yield* Clock.currentTimeMillis
    const tokens = { ...base.tokens, [key]: { token, role, scopes: [...scopes], updatedAtMs, gatewayUrl } }
    // The legacy per-role slot goes once its gateway has a slot of its own.
    if (own(tokens, role)?.gatewayUrl === gatewayUrl) delete tokens[role]
    const next: DeviceAuthFile = { ...base, tokens }
    yield* writeFileAtomic(deviceAuthPath(stateDir), JSON.stringify(next, null, 2) + "\n").pipe(Effect.ignore)
  })

/** Forgets the token `gatewayUrl` issued for `role` (after that gateway said it no longer matches). */
export const forgetDeviceToken = (stateDir: string, deviceId: string, role: string, gatewayUrl: string) =>
  Effect.gen(function*() {
    const current = yield* readStore(stateDir)
    if (current?.deviceId !== deviceId) return
    const tokens = { ...current.tokens }
    const keys = [slot(role, gatewayUrl), ...(own(tokens, role)?.gatewayUrl === gatewayUrl ? [role] : [])].filter((k) => own(tokens, k) !== undefined)
    if (keys.length === 0) return
    for (const k of keys) delete tokens[k]
    yield* writeFileAtomic(deviceAuthPath(stateDir), JSON.stringify({ ...current, tokens }, null, 2) + "\n").pipe(Effect.ignore)
  })

// One slot per role and gateway.
const slot = (role: string, gatewayUrl: string) => `${role} ${gatewayUrl}`

const readStore = (stateDir: string) =>
  Effect.promise(() => readFile(deviceAuthPath(stateDir), "utf8").catch(() => undefined)).pipe(
    Effect.map((text) => {
      if (text === undefined) return undefined
      const r = decode(text)
      return Result.isSuccess(r) ? r.success : undefined
    })
  )
