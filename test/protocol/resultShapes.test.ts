/**
 * The wire shape of every method's success payload: key order, which keys are
 * present, and where `null` stands. Values are masked (strings → "s", numbers → 0),
 * so these lines change only when what the gateway sends changes shape.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { NodePairingStore } from "../../src/services/NodePairingStore.ts"
import { newDevice, signedConnect } from "../helpers/device.ts"
import { memoryNode, memoryOperator } from "../helpers/memoryNode.ts"
import { coreLayer, homeWithConfig, openMemory, TEST_TOKEN } from "../helpers/testGateway.ts"

const mask = (payload: unknown) =>
  JSON.stringify(payload, (_key, v: unknown) => (typeof v === "string" ? "s" : typeof v === "number" ? 0 : v))

const gateway = () =>
  coreLayer({}, homeWithConfig({
    gateway: { trustedProxies: ["127.0.0.1"], auth: { token: TEST_TOKEN }, remote: { url: "wss://u:pw@example.com" } },
    // Configured but not enabled: the channel is reported, and nothing reaches out to Telegram.
    channels: { telegram: { enabled: false, botToken: "123:abc", allowFrom: ["me"] } }
  }))

/** Connects a device from a (trusted-proxied) remote address, so that it waits for pairing. */
const remoteDevice = (device: ReturnType<typeof newDevice>, scopes: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const c = yield* openMemory({ headers: { "x-forwarded-for": "203.0.113.9" } })
    const challenge = yield* c.next
    yield* c.push({ type: "req", id: "connect", method: "connect", params: signedConnect(device, challenge.payload, { scopes, auth: { token: TEST_TOKEN }, client: { id: "openclaw-macos", mode: "ui", displayName: "laptop" } }) })
    const hello = yield* c.nextMatching((f) => f.id === "connect")
    return { ...c, hello }
  })

describe("method results on the wire", () => {
  it.live("keep their shape", () =>
    Effect.gen(function*() {
      const shapes: Record<string, string> = {}
      const record = (name: string, res: Record<string, any>) => {
        assert.strictEqual(res.ok, true, `${name}: ${JSON.stringify(res.error)}`)
        shapes[name] = mask(res.payload)
        return res.payload
      }
      const op = yield* memoryOperator(["operator.admin"])
      record("health", yield* op.call("health"))
      record("status", yield* op.call("status"))
      record("system-presence", yield* op.call("system-presence"))
      record("last-heartbeat", yield* op.call("last-heartbeat"))
      record("gateway.identity.get", yield* op.call("gateway.identity.get"))
      record("config.get", yield* op.call("config.get"))
      record("channels.status", yield* op.call("channels.status"))
      record("status (read only)", yield* (yield* memoryOperator(["operator.read"])).call("status"))

      // Devices: two wait; one is approved, rotated, revoked and removed, the other rejected.
      const laptop = newDevice()
      const waiting = yield* remoteDevice(laptop, ["operator.admin"])
      assert.strictEqual(waiting.hello.error.code, "NOT_PAIRED")
      const other = newDevice()
      yield* remoteDevice(other, ["operator.read"])
      const pending = record("device.pair.list (pending)", yield* op.call("device.pair.list")) as { pending: Array<{ requestId: string; deviceId: string }> }
      const laptopRequest = pending.pending.find((p) => p.deviceId === laptop.deviceId)!.requestId
      const otherRequest = pending.pending.find((p) => p.deviceId === other.deviceId)!.requestId
      record("device.pair.approve", yield* op.call("device.pair.approve", { requestId: laptopRequest }))
      record("device.pair.reject", yield* op.call("device.pair.reject", { requestId: otherRequest }))
      record("device.token.rotate (other)", yield* op.call("device.token.rotate", { deviceId: laptop.deviceId, role: "operator", scopes: ["operator.read"] }))
      record("device.token.revoke", yield* op.call("device.token.revoke", { deviceId: laptop.deviceId, role: "operator" }))
      record("device.pair.list (paired)", yield* op.call("device.pair.list"))
      record("device.bootstrap.create", yield* op.call("device.bootstrap.create", { role: "operator", scopes: ["operator.read"] }))
      record("device.pair.remove", yield* op.call("device.pair.remove", { deviceId: laptop.deviceId }))

      // Nodes: one local (approved silently), one remote (waits for approval).
      const local = yield* memoryNode({ client: { displayName: "desk" } })
      const remote = yield* memoryNode({ remote: true })
      // Nodes are listed by id, which is random here: put them in a fixed order first.
      const listed = yield* op.call("node.list")
      const byId = (id: string) => listed.payload.nodes.find((n: { nodeId: string }) => n.nodeId === id)
      record("node.list", { ...listed, payload: { ...listed.payload, nodes: [byId(local.nodeId), byId(remote.nodeId)] } })
      record("node.describe", yield* op.call("node.describe", { nodeId: local.nodeId }))
      record("node.describe (remote)", yield* op.call("node.describe", { nodeId: remote.nodeId }))
      record("node.events.subscribe", yield* op.call("node.events.subscribe", {}))
      const invoked = yield* op.send("node.invoke", { nodeId: local.nodeId, command: "system.which", params: { name: "sh" }, idempotencyKey: "k" })
      const request = yield* local.nextInvoke
      yield* local.push({ type: "req", id: "res", method: "node.invoke.result", params: { id: request.payload.id, nodeId: local.nodeId, ok: true, payloadJSON: "{\"path\":\"/bin/sh\"}" } })
      record("node.invoke.result", yield* local.nextMatching((f) => f.id === "res"))
      record("node.invoke", yield* op.nextMatching((f) => f.id === invoked))
      yield* local.push({ type: "req", id: "late", method: "node.invoke.result", params: { id: request.payload.id, nodeId: local.nodeId, ok: true } })
      record("node.invoke.result (late)", yield* local.nextMatching((f) => f.id === "late"))
      const bare = yield* op.send("node.invoke", { nodeId: local.nodeId, command: "system.notify", idempotencyKey: "k2" })
      const bareRequest = yield* local.nextInvoke
      yield* local.push({ type: "req", id: "bare", method: "node.invoke.result", params: { id: bareRequest.payload.id, nodeId: local.nodeId, ok: true } })
      record("node.invoke (no payload)", yield* op.nextMatching((f) => f.id === bare))
      yield* local.push({ type: "req", id: "ev", method: "node.event", params: { event: "exec.finished", payloadJSON: "{\"a\":1}" } })
      record("node.event", yield* local.nextMatching((f) => f.id === "ev"))
      record("node.pair.request", yield* op.call("node.pair.request", { nodeId: remote.nodeId }))
      const nodePending = record("node.pair.list", yield* op.call("node.pair.list")) as { pending: Array<{ requestId: string }> }
      record("node.pair.approve", yield* op.call("node.pair.approve", { requestId: nodePending.pending[0]!.requestId }))
      record("node.rename", yield* op.call("node.rename", { nodeId: remote.nodeId, displayName: "kitchen" }))
      const token = (yield* (yield* NodePairingStore).node(local.nodeId)).paired!.token
      record("node.pair.verify", yield* op.call("node.pair.verify", { nodeId: local.nodeId, token }))
      record("node.pair.verify (wrong)", yield* op.call("node.pair.verify", { nodeId: local.nodeId, token: "nope" }))
      const third = yield* memoryNode({ remote: true })
      const thirdRequest = (yield* op.call("node.pair.list")).payload.pending.find((p: { nodeId: string }) => p.nodeId === third.nodeId).requestId
      record("node.pair.reject", yield* op.call("node.pair.reject", { requestId: thirdRequest }))

      assert.deepStrictEqual(shapes, EXPECTED)
    }).pipe(Effect.provide(gateway())))
})

const EXPECTED: Record<string, string> = {
  "health": '{"ok":true,"ts":0,"durationMs":0,"channels":{},"channelOrder":[],"channelLabels":{},"heartbeatSeconds":0,"defaultAgentId":"s","agents":[],"sessions":{"path":"s","count":0,"recent":[]},"eventLoop":{"degraded":false,"degradedSinceMs":null,"reasons":[],"intervalMs":0,"delayP99Ms":0,"delayMaxMs":0,"utilization":0,"cpuCoreRatio":0}}',
  "status": '{"ok":true,"version":"s","uptimeMs":0,"host":"s","os":"s","node":"s","gateway":{"bind":"s","host":"s","port":0,"authMode":"s","tls":{"enabled":false},"stateDir":"s","configPath":"s","secretSource":"s"},"connections":{"total":0,"operators":0,"nodes":0},"presence":[{"host":"s","version":"s","mode":"s","reason":"s","ts":0},{"host":"s","ip":"s","version":"s","platform":"s","mode":"s","reason":"s","roles":["s"],"ts":0}],"stateVersion":{"presence":0,"health":0},"discovery":{"mode":"s","advertised":[],"state":{"phase":"s","interfaces":[],"conflicts":0,"restarts":0}},"channels":[{"id":"s","label":"s","enabled":false,"running":false}]}',
  "status (read only)": '{"ok":true,"version":"s","uptimeMs":0,"host":"s","os":"s","node":"s","gateway":{"bind":"s","host":"s","port":0,"authMode":"s","tls":{"enabled":false}},"connections":{"total":0,"operators":0,"nodes":0},"presence":[{"host":"s","version":"s","mode":"s","reason":"s","ts":0},{"host":"s","ip":"s","version":"s","platform":"s","mode":"s","reason":"s","roles":["s"],"ts":0},{"host":"s","ip":"s","version":"s","platform":"s","mode":"s","reason":"s","roles":["s"],"ts":0}],"stateVersion":{"presence":0,"health":0},"discovery":{"mode":"s","advertised":[],"state":{"phase":"s","interfaces":[],"conflicts":0,"restarts":0}},"channels":[{"id":"s","label":"s","enabled":false,"running":false}]}',
  "system-presence": '[{"host":"s","version":"s","mode":"s","reason":"s","ts":0},{"host":"s","ip":"s","version":"s","platform":"s","mode":"s","reason":"s","roles":["s"],"ts":0}]',
  "last-heartbeat": 'null',
  "gateway.identity.get": '{"deviceId":"s","publicKey":"s"}',
  "config.get": '{"path":"s","exists":true,"config":{"gateway":{"trustedProxies":["s"],"auth":{"token":"s"},"remote":{"url":"s"}},"channels":{"telegram":{"enabled":false,"botToken":"s","allowFrom":["s"]}}}}',
  "channels.status": '{"ts":0,"channelOrder":["s"],"channelLabels":{"telegram":"s"},"channels":{"telegram":{"configured":true,"running":false}},"channelAccounts":{"telegram":[{"accountId":"s","enabled":false,"configured":true,"running":false,"tokenSource":"s","dmPolicy":"s","allowFrom":["s"],"mode":"s"}]},"channelDefaultAccountId":{"telegram":"s"}}',
  "device.pair.list (pending)": '{"pending":[{"requestId":"s","deviceId":"s","publicKey":"s","clientId":"s","clientMode":"s","displayName":"s","platform":"s","deviceFamily":"s","remoteIp":"s","role":"s","roles":["s"],"scopes":["s"],"silent":false,"isRepair":false,"reason":"s","ts":0},{"requestId":"s","deviceId":"s","publicKey":"s","clientId":"s","clientMode":"s","displayName":"s","platform":"s","deviceFamily":"s","remoteIp":"s","role":"s","roles":["s"],"scopes":["s"],"silent":false,"isRepair":false,"reason":"s","ts":0}],"paired":[]}',
  "device.pair.approve": '{"requestId":"s","device":{"deviceId":"s","publicKey":"s","displayName":"s","platform":"s","deviceFamily":"s","clientId":"s","clientMode":"s","remoteIp":"s","roles":["s"],"approvedScopes":["s"],"approvedVia":"s","createdAtMs":0,"approvedAtMs":0,"role":"s","scopes":["s"],"tokens":[{"role":"s","scopes":["s"],"createdAtMs":0}]}}',
  "device.pair.reject": '{"requestId":"s","deviceId":"s"}',
  "device.token.rotate (other)": '{"deviceId":"s","role":"s","scopes":["s"],"rotatedAtMs":0}',
  "device.token.revoke": '{"deviceId":"s","role":"s","revokedAtMs":0}',
  "device.pair.list (paired)": '{"pending":[],"paired":[{"deviceId":"s","publicKey":"s","displayName":"s","platform":"s","deviceFamily":"s","clientId":"s","clientMode":"s","remoteIp":"s","roles":["s"],"approvedScopes":["s"],"approvedVia":"s","createdAtMs":0,"approvedAtMs":0,"role":"s","scopes":["s"],"tokens":[{"role":"s","scopes":["s"],"createdAtMs":0,"rotatedAtMs":0,"revokedAtMs":0}]}]}',
  "device.bootstrap.create": '{"role":"s","scopes":["s"],"bootstrapToken":"s","expiresAtMs":0}',
  "device.pair.remove": '{"deviceId":"s"}',
  "node.list": '{"ts":0,"nodes":[{"nodeId":"s","displayName":"s","platform":"s","version":"s","caps":["s"],"commands":["s","s"],"approvedCommands":["s","s"],"invokableCommands":["s","s"],"connected":true,"paired":true,"remoteIp":"s","connectedAtMs":0,"reports":{}},{"nodeId":"s","platform":"s","version":"s","caps":["s"],"commands":["s","s"],"approvedCommands":[],"invokableCommands":[],"connected":true,"paired":false,"remoteIp":"s","connectedAtMs":0,"pendingRequestId":"s","reports":{}}]}',
  "node.describe": '{"ts":0,"nodeId":"s","displayName":"s","platform":"s","version":"s","caps":["s"],"commands":["s","s"],"approvedCommands":["s","s"],"invokableCommands":["s","s"],"connected":true,"paired":true,"remoteIp":"s","connectedAtMs":0,"reports":{}}',
  "node.describe (remote)": '{"ts":0,"nodeId":"s","platform":"s","version":"s","caps":["s"],"commands":["s","s"],"approvedCommands":[],"invokableCommands":[],"connected":true,"paired":false,"remoteIp":"s","connectedAtMs":0,"pendingRequestId":"s","reports":{}}',
  "node.events.subscribe": '{"ok":true}',
  "node.invoke.result": '{"ok":true}',
  "node.invoke": '{"ok":true,"nodeId":"s","payload":{"path":"s"},"payloadJSON":"s","command":"s"}',
  "node.invoke (no payload)": '{"ok":true,"nodeId":"s","payload":null,"payloadJSON":null,"command":"s"}',
  "node.invoke.result (late)": '{"ok":true,"ignored":true}',
  "node.event": '{"ok":true}',
  "node.pair.request": '{"status":"s","request":{"requestId":"s","nodeId":"s","platform":"s","version":"s","deviceFamily":"s","clientId":"s","remoteIp":"s","caps":["s"],"commands":["s","s"],"silent":false,"ts":0},"created":false}',
  "node.pair.list": '{"pending":[{"requestId":"s","nodeId":"s","platform":"s","version":"s","deviceFamily":"s","clientId":"s","remoteIp":"s","caps":["s"],"commands":["s","s"],"silent":false,"ts":0,"requiredApproveScopes":["s","s"]}],"paired":[{"nodeId":"s","displayName":"s","platform":"s","version":"s","deviceFamily":"s","caps":["s"],"commands":["s","s"],"approvedVia":"s","createdAtMs":0,"approvedAtMs":0,"lastConnectedAtMs":0}]}',
  "node.pair.approve": '{"requestId":"s","node":{"nodeId":"s","platform":"s","version":"s","deviceFamily":"s","caps":["s"],"commands":["s","s"],"approvedVia":"s","createdAtMs":0,"approvedAtMs":0,"lastConnectedAtMs":0}}',
  // displayName in the place every other paired-node listing has it (it used to trail after a rename)
  "node.rename": '{"nodeId":"s","node":{"nodeId":"s","displayName":"s","platform":"s","version":"s","deviceFamily":"s","caps":["s"],"commands":["s","s"],"approvedVia":"s","createdAtMs":0,"approvedAtMs":0,"lastConnectedAtMs":0}}',
  "node.pair.verify": '{"ok":true,"node":{"nodeId":"s","displayName":"s","platform":"s","version":"s","caps":["s"],"commands":["s","s"],"approvedCommands":["s","s"],"invokableCommands":["s","s"],"connected":true,"paired":true,"remoteIp":"s","connectedAtMs":0,"reports":{}}}',
  "node.pair.verify (wrong)": '{"ok":false}',
  "node.pair.reject": '{"requestId":"s","nodeId":"s"}'
}
