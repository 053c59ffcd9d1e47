import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { connectDevice, newDevice } from "../helpers/device.ts"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { homeWithConfig } from "../helpers/testGateway.ts"
import { openWs } from "../helpers/wsClient.ts"

describe("gatehouse devices", () => {
  const env = homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"], auth: { token: "devices-cli-token-77e1" } } })
  let port = 0
  let daemon: Daemon
  const cli = (...args: Array<string>) => run(args, { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
  const remoteConnect = (device: ReturnType<typeof newDevice>, auth: Record<string, string>) =>
    Effect.runPromise(Effect.scoped(Effect.flatMap(openWs(`ws://127.0.0.1:${port}`, { "x-forwarded-for": "198.51.100.23" }), (c) => connectDevice(c, device, { auth }))))

  beforeAll(async () => {
    port = await freePort()
    daemon = await startDaemon(["gateway", "run", "--port", String(port)], env, /listening on ws:/)
  })
  afterAll(async () => {
    daemon.child.kill("SIGTERM")
    await daemon.exited
  })

  it("approves a remote device's pending request by id, and the device reconnects with its token", async () => {
    const device = newDevice()
    const pending = await remoteConnect(device, { token: "devices-cli-token-77e1" })
    assert.strictEqual(pending.error.details.code, "PAIRING_REQUIRED")
    const requestId = pending.error.details.requestId as string

    const listed = await cli("devices", "list")
    assert.strictEqual(listed.code, 0, listed.stderr)
    assert.include(listed.stdout, requestId)
    assert.include(listed.stdout, "198.51.100.23")
    const json = JSON.parse((await cli("devices", "list", "--json")).stdout)
    assert.deepStrictEqual(json.pending.map((p: { requestId: string }) => p.requestId), [requestId])

    const approved = await cli("devices", "approve", requestId)
    assert.strictEqual(approved.code, 0, approved.stderr)
    assert.include(approved.stdout, `Approved ${device.deviceId} (${requestId})`)

    const hello = await remoteConnect(device, { token: "devices-cli-token-77e1" })
    assert.strictEqual(hello.ok, true)
    const again = await remoteConnect(device, { deviceToken: hello.payload.auth.deviceToken })
    assert.strictEqual(again.payload.auth.method, "device-token")

    const stale = await cli("devices", "approve", requestId)
    assert.strictEqual(stale.code, 1)
    assert.include(stale.stderr, "gatehouse devices list")

    const revoked = await cli("devices", "revoke", device.deviceId, "--role", "operator")
    assert.strictEqual(revoked.code, 0, revoked.stderr)
    const refused = await remoteConnect(device, { deviceToken: hello.payload.auth.deviceToken })
    assert.strictEqual(refused.error.details.code, "AUTH_DEVICE_TOKEN_MISMATCH")

    const renamed = await cli("devices", "rename", device.deviceId, "work laptop")
    assert.strictEqual(renamed.code, 0, renamed.stderr)
    assert.include(renamed.stdout, `Renamed ${device.deviceId} to "work laptop"`)
    const labelled = JSON.parse((await cli("devices", "list", "--json")).stdout)
    assert.strictEqual(labelled.paired.find((d: { deviceId: string }) => d.deviceId === device.deviceId).label, "work laptop")

    const removed = await cli("devices", "remove", device.deviceId)
    assert.strictEqual(removed.code, 0, removed.stderr)
    assert.notInclude((await cli("devices", "list")).stdout, device.deviceId)
  })

  it("approves with --latest only when exactly one request is pending", async () => {
    await remoteConnect(newDevice(), { token: "devices-cli-token-77e1" })
    await remoteConnect(newDevice(), { token: "devices-cli-token-77e1" })
    const ambiguous = await cli("devices", "approve", "--latest")
    assert.strictEqual(ambiguous.code, 1)
    assert.include(ambiguous.stderr, "2 requests are pending")
    const listing = JSON.parse((await cli("devices", "list", "--json")).stdout)
    await cli("devices", "reject", listing.pending[0].requestId)
    const one = await cli("devices", "approve", "--latest")
    assert.strictEqual(one.code, 0, one.stderr)
  })

  it("prints a setup code that pairs a node once and carries no gateway secret", async () => {
    const r = await cli("setup-code", "--role", "node", "--json")
    assert.strictEqual(r.code, 0, r.stderr)
    const { code } = JSON.parse(r.stdout)
    const decoded = JSON.parse(Buffer.from(code, "base64url").toString())
    assert.strictEqual(decoded.url, `ws://127.0.0.1:${port}`)
    assert.notInclude(JSON.stringify(decoded), "devices-cli-token-77e1")
    const node = newDevice()
    const paired = await Effect.runPromise(Effect.scoped(Effect.flatMap(openWs(decoded.url, { "x-forwarded-for": "198.51.100.24" }), (c) =>
      connectDevice(c, node, { role: "node", auth: { bootstrapToken: decoded.bootstrapToken } }))))
    assert.strictEqual(paired.ok, true, JSON.stringify(paired.error))
    const reused = await Effect.runPromise(Effect.scoped(Effect.flatMap(openWs(decoded.url, { "x-forwarded-for": "198.51.100.25" }), (c) =>
      connectDevice(c, newDevice(), { role: "node", auth: { bootstrapToken: decoded.bootstrapToken } }))))
    assert.strictEqual(reused.error.details.code, "AUTH_BOOTSTRAP_TOKEN_INVALID")
  })
})

describe("the owner on the gateway host cannot lock themselves out", () => {
  const env = homeWithConfig({ gateway: { auth: { token: "owner-token-0c3a9d51" }, pairing: { autoApproveLocal: false } } })
  let port = 0
  let daemon: Daemon
  const cli = (...args: Array<string>) => run(args, { ...env, OPENCLAW_GATEWAY_PORT: String(port) })

  beforeAll(async () => {
    port = await freePort()
    daemon = await startDaemon(["gateway", "run", "--port", String(port)], env, /listening on ws:/)
  })
  afterAll(async () => {
    daemon.child.kill("SIGTERM")
    await daemon.exited
  })

  it("lists, approves its own device, removes it (exit 0), and still lists and re-pairs afterwards", async () => {
    const first = await cli("devices", "list", "--json")
    assert.strictEqual(first.code, 0, first.stderr)
    const own = JSON.parse(readFileSync(join(env.HOME, ".openclaw", "identity", "device.json"), "utf8")).deviceId as string
    const request = (JSON.parse(first.stdout).pending as Array<{ requestId: string; deviceId: string }>).find((p) => p.deviceId === own)
    assert.isDefined(request, first.stdout)
    const approved = await cli("devices", "approve", request!.requestId)
    assert.strictEqual(approved.code, 0, approved.stderr)
    const removed = await cli("devices", "remove", own)
    assert.strictEqual(removed.code, 0, removed.stdout + removed.stderr)
    assert.include(removed.stdout, `Removed ${own}`)
    const after = await cli("devices", "list", "--json")
    assert.strictEqual(after.code, 0, after.stderr)
    assert.isFalse((JSON.parse(after.stdout).paired as Array<{ deviceId: string }>).some((d) => d.deviceId === own))
    const again = (JSON.parse(after.stdout).pending as Array<{ requestId: string; deviceId: string }>).find((p) => p.deviceId === own)
    assert.strictEqual((await cli("devices", "approve", again!.requestId)).code, 0)
  })

  it("gives the gateway, the CLI and a local node host each their own device: removing the CLI's leaves the node connected", async () => {
    const state = join(env.HOME, ".openclaw")
    const node = await startDaemon(["node", "run", "--display-name", "own-node"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) }, /node [0-9a-f]{64} →/)
    try {
      const nodeId = JSON.parse(readFileSync(join(state, "node", "identity", "device.json"), "utf8")).deviceId as string
      const cliId = JSON.parse(readFileSync(join(state, "identity", "device.json"), "utf8")).deviceId as string
      const gatewayId = JSON.parse(readFileSync(join(state, "identity", "gateway.json"), "utf8")).deviceId as string
      assert.strictEqual(new Set([nodeId, cliId, gatewayId]).size, 3)
      const identity = await cli("gateway", "call", "gateway.identity.get", "--json")
      assert.strictEqual(identity.code, 0, identity.stderr)
      assert.strictEqual(JSON.parse(identity.stdout).deviceId, gatewayId)
      // The node host's own request waits for the owner, who approves it from the CLI.
      const pending = await until(async () => {
        const listed = JSON.parse((await cli("devices", "list", "--json")).stdout) as { pending: Array<{ requestId: string; deviceId: string }> }
        return listed.pending.find((p) => p.deviceId === nodeId)
      })
      assert.strictEqual((await cli("devices", "approve", pending.requestId)).code, 0)
      await until(async () => ((await cli("nodes", "list", "--json")).stdout.includes("own-node") ? true : undefined))
      // Removing the CLI's own device ends only the CLI's session; the node host keeps its own.
      const removed = await cli("devices", "remove", cliId)
      assert.strictEqual(removed.code, 0, removed.stdout + removed.stderr)
      const nodes = JSON.parse((await cli("nodes", "list", "--json")).stdout) as { nodes: Array<{ displayName?: string; connected?: boolean }> }
      assert.isTrue(nodes.nodes.some((n) => n.displayName === "own-node" && n.connected === true), JSON.stringify(nodes))
      assert.notInclude(node.output(), "stopped retrying")
    } finally {
      node.child.kill("SIGINT")
      await node.exited
    }
  })
})

// Polls `probe` (every 200 ms, up to 20 s) until it returns something.
const until = async <A>(probe: () => Promise<A | undefined>): Promise<A> => {
  for (let i = 0; i < 100; i++) {
    const found = await probe()
    if (found !== undefined) return found
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error("timed out waiting")
}
