import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { BIN, type Daemon, run, startDaemon } from "../helpers/processes.ts"
import { netnsPair, type NetnsPair, netnsUnavailable } from "../helpers/netns.ts"
import { tempHome } from "../helpers/testGateway.ts"

// A real non-loopback client: the gateway in one network namespace, the client in another.
const unavailable = netnsUnavailable()
if (unavailable !== undefined) {
  if (process.env.CI === "true") throw new Error(`the network-namespace pairing test must run under CI: ${unavailable}`)
  console.log(`skipping the network-namespace pairing test: ${unavailable}`)
}

describe.runIf(unavailable === undefined)("pairing a device from another host (network namespaces)", () => {
  const port = 18789
  let token = ""
  let ns: NetnsPair
  let gateway: Daemon
  const gatewayHome = tempHome()
  const clientHome = tempHome()
  const inNs = (name: string, ...args: Array<string>) => ["netns", "exec", name, process.execPath, BIN, ...args]
  const ipBin = "/usr/sbin/ip"
  const runIn = (name: string, home: string, ...args: Array<string>) =>
    run(["netns", "exec", name, process.execPath, BIN, ...args], { HOME: home, OPENCLAW_ALLOW_INSECURE_PRIVATE_WS: "1" }, ipBin)

  beforeAll(async () => {
    ns = netnsPair(String(process.pid % 100000))
    gateway = await startDaemon(
      inNs(ns.gateway, "gateway", "run", "--bind", "custom", "--host", ns.gatewayIp, "--port", String(port)),
      { HOME: gatewayHome },
      /listening on ws:/,
      ipBin
    )
    token = readFileSync(join(gatewayHome, ".openclaw", "gateway.token"), "utf8").trim()
  })

  afterAll(async () => {
    if (gateway !== undefined && gateway.child.exitCode === null) {
      gateway.child.kill("SIGTERM")
      await gateway.exited
    }
    ns?.down()
  })

  it("a remote device waits, `gatehouse devices approve` on the gateway host lets it in, and it reconnects with its device token", async () => {
    const url = `ws://${ns.gatewayIp}:${port}`
    const first = await runIn(ns.client, clientHome, "gateway", "health", "--url", url, "--token", token)
    assert.strictEqual(first.code, 1)
    const requestId = first.stderr.match(/gatehouse devices approve ([0-9a-f-]{36})/)?.[1]
    assert.isString(requestId, first.stderr)

    const listed = await runIn(ns.gateway, gatewayHome, "devices", "list", "--json")
    assert.strictEqual(listed.code, 0, listed.stderr)
    const pending = JSON.parse(listed.stdout).pending as Array<{ requestId: string; remoteIp: string }>
    assert.deepStrictEqual(pending.map((p) => [p.requestId, p.remoteIp]), [[requestId, ns.clientIp]])

    const approved = await runIn(ns.gateway, gatewayHome, "devices", "approve", requestId!)
    assert.strictEqual(approved.code, 0, approved.stderr)
    assert.include(approved.stdout, `(${requestId})`)

    const second = await runIn(ns.client, clientHome, "gateway", "health", "--url", url, "--token", token)
    assert.strictEqual(second.code, 0, second.stderr)
    assert.include(second.stdout, "OK")

    // No token anywhere now: remote mode uses the device token the gateway issued.
    mkdirSync(join(clientHome, ".openclaw"), { recursive: true })
    writeFileSync(join(clientHome, ".openclaw", "openclaw.json"), JSON.stringify({ gateway: { mode: "remote", remote: { url } } }))
    const byDevice = await runIn(ns.client, clientHome, "gateway", "call", "status")
    assert.strictEqual(byDevice.code, 0, byDevice.stderr)
    assert.strictEqual(JSON.parse(byDevice.stdout).ok, true)
  }, 60_000)
})
