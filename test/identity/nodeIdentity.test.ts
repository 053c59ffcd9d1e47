import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { statSync } from "node:fs"
import { deviceAuthPath, loadDeviceToken, saveDeviceToken } from "../../src/identity/deviceAuthStore.ts"
import { identityPath, loadOrCreateIdentity } from "../../src/identity/deviceIdentity.ts"
import { loadNodeIdentity, nodeStateDir } from "../../src/identity/nodeIdentity.ts"
import { tempDir } from "../helpers/tempDirs.ts"

describe("the node host's own identity", () => {
  it.effect("a fresh host gives the CLI, the gateway and the node host three different devices", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const cli = yield* loadOrCreateIdentity(dir)
      const gateway = yield* loadOrCreateIdentity(dir, "gateway")
      const node = yield* loadNodeIdentity(dir)
      assert.strictEqual(new Set([cli.deviceId, gateway.deviceId, node.deviceId]).size, 3)
      assert.strictEqual((yield* loadNodeIdentity(dir)).deviceId, node.deviceId)
      assert.strictEqual(statSync(identityPath(nodeStateDir(dir))).mode & 0o777, 0o600)
    }))

  it.effect("a node host paired before the split keeps its device and node token, and only those", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const shared = yield* loadOrCreateIdentity(dir)
      yield* saveDeviceToken(dir, shared.deviceId, "node", "node-token", [], "ws://127.0.0.1:18789")
      yield* saveDeviceToken(dir, shared.deviceId, "operator", "operator-token", ["operator.admin"], "ws://127.0.0.1:18789")
      const node = yield* loadNodeIdentity(dir)
      assert.strictEqual(node.deviceId, shared.deviceId)
      const nodeDir = nodeStateDir(dir)
      assert.strictEqual(yield* loadDeviceToken(nodeDir, node.deviceId, "node", "ws://127.0.0.1:18789"), "node-token")
      assert.isUndefined(yield* loadDeviceToken(nodeDir, node.deviceId, "operator", "ws://127.0.0.1:18789"))
      assert.strictEqual(statSync(deviceAuthPath(nodeDir)).mode & 0o777, 0o600)
      assert.strictEqual(statSync(identityPath(nodeDir)).mode & 0o777, 0o600)
    }))

  it.effect("a shared identity that was never a node is not adopted", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const shared = yield* loadOrCreateIdentity(dir)
      yield* saveDeviceToken(dir, shared.deviceId, "operator", "operator-token", ["operator.admin"], "ws://127.0.0.1:18789")
      assert.notStrictEqual((yield* loadNodeIdentity(dir)).deviceId, shared.deviceId)
    }))
})
