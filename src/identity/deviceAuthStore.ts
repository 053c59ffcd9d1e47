/**
 * The client's stored device tokens, `<stateDir>/identity/device-auth.json`
 * (0600): one token per role for this host's device, as the gateway issued it.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomic } from "../fs/atomicWrite.ts"

const StoredToken = Schema.Struct({ token: Schema.String, role: Schema.String, scopes: Schema.Array(Schema.String), updatedAtMs: Schema.Number })
const DeviceAuthFile = Schema.Struct({
  version: Schema.Literal(1),
  deviceId: Schema.String,
  tokens: Schema.Record(Schema.String, StoredToken)
})
type DeviceAuthFile = typeof DeviceAuthFile.Type
const decode = Schema.decodeUnknownResult(Schema.fromJsonString(DeviceAuthFile))

/** Path of the device token file under a state dir. */
export const deviceAuthPath = (stateDir: string) => join(stateDir, "identity", "device-auth.json")

/** The stored token of `deviceId` for `role`, if any. */
export const loadDeviceToken = (stateDir: string, deviceId: string, role: string) =>
  Effect.map(readStore(stateDir), (store) => (store?.deviceId === deviceId ? store.tokens[role]?.token : undefined))

/** Stores the token the gateway issued for `role`. */
export const saveDeviceToken = (stateDir: string, deviceId: string, role: string, token: string, scopes: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const current = yield* readStore(stateDir)
    const base: DeviceAuthFile = current?.deviceId === deviceId ? current : { version: 1, deviceId, tokens: {} }
    if (base.tokens[role]?.token === token) return
    const updatedAtMs = yield* Clock.currentTimeMillis
    const next: DeviceAuthFile = { ...base, tokens: { ...base.tokens, [role]: { token, role, scopes: [...scopes], updatedAtMs } } }
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
