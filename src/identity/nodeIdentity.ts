/**
 * The node host's own device identity and device tokens, kept apart from the
 * CLI's under `<stateDir>/node/identity/`: removing or re-pairing one never
 * locks out the other. A node host set up before identities were split (the
 * shared identity holds a `node` token) adopts that identity once, so it keeps
 * its pairing instead of asking for approval again.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { readFile, stat } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { deviceAuthPath } from "./deviceAuthStore.ts"
import { type DeviceIdentity, identityPath, loadOrCreateIdentity } from "./deviceIdentity.ts"

/** The node host's own state dir (identity and device tokens) under the profile's state dir. */
export const nodeStateDir = (stateDir: string) => join(stateDir, "node")

/** Loads the node host's identity, adopting a pre-split shared identity that holds a node token. */
export const loadNodeIdentity = (stateDir: string): Effect.Effect<DeviceIdentity, Error> =>
  Effect.gen(function*() {
    const nodeDir = nodeStateDir(stateDir)
    const exists = yield* Effect.promise(() => stat(identityPath(nodeDir)).then(() => true, () => false))
    if (!exists) yield* adoptShared(stateDir, nodeDir)
    return yield* loadOrCreateIdentity(nodeDir)
  })

// Copies the shared identity and only its node tokens when that identity was paired as a node.
const adoptShared = (stateDir: string, nodeDir: string) =>
  Effect.gen(function*() {
    const text = yield* Effect.promise(() => readFile(deviceAuthPath(stateDir), "utf8").catch(() => undefined))
    if (text === undefined) return
    const parsed = Result.try(() => JSON.parse(text) as unknown)
    if (Result.isFailure(parsed) || typeof parsed.success !== "object" || parsed.success === null) return
    const store = parsed.success as { version?: unknown; deviceId?: unknown; tokens?: unknown }
    if (typeof store.tokens !== "object" || store.tokens === null) return
    const nodeTokens = Object.entries(store.tokens).filter(([, t]) => typeof t === "object" && t !== null && (t as { role?: unknown }).role === "node")
    if (nodeTokens.length === 0) return
    const shared = yield* Effect.tryPromise({
      try: () => readFile(identityPath(stateDir), "utf8"),
      catch: (e) => new Error(`cannot adopt the shared device identity for the node host: ${(e as Error).message}`)
    })
    yield* writeFileAtomic(identityPath(nodeDir), shared)
    yield* writeFileAtomic(deviceAuthPath(nodeDir), JSON.stringify({ version: 1, deviceId: store.deviceId, tokens: Object.fromEntries(nodeTokens) }, null, 2) + "\n")
    yield* Effect.logInfo(`node host: kept its existing pairing (device ${String(store.deviceId).slice(0, 12)}…) under ${nodeDir}`)
  })
