import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { homeWithConfig, tempHome } from "../helpers/testGateway.ts"

// The published OpenClaw node host (npm openclaw@2026.9.6); .ci/run installs it and sets OPENCLAW_BIN.
const openclawBin = process.env.OPENCLAW_BIN
const openclawAvailable = openclawBin !== undefined && existsSync(openclawBin)
if (!openclawAvailable && process.env.CI === "true") throw new Error("OPENCLAW_BIN must point at the openclaw CLI under CI (.ci/run installs it)")

describe("a --tls gateway, pinned clients and rotate-cert", () => {
  const token = "tls-e2e-token-5be0c1d93a"
  const gatewayEnv = homeWithConfig({ gateway: { auth: { token } } })
  const stateDir = join(gatewayEnv.HOME, ".openclaw")
  const clientHome = tempHome()
  let port = 0
  let gateway: Daemon
  const startGateway = () => startDaemon(["gateway", "run", "--port", String(port), "--tls"], gatewayEnv, /listening on wss:/)
  const local = (...args: Array<string>) => run(args, { ...gatewayEnv, OPENCLAW_GATEWAY_PORT: String(port) })
  const remote = (...args: Array<string>) => run([...args, "--url", `wss://127.0.0.1:${port}`, "--token", token], { HOME: clientHome })
  const servedFingerprint = async () => {
    const r = await local("status", "--json")
    assert.strictEqual(r.code, 0, r.stderr)
    return JSON.parse(r.stdout).status.gateway.tls.sha256 as string
  }

  beforeAll(async () => {
    port = await freePort()
    gateway = await startGateway()
  })

  afterAll(async () => {
    if (gateway.child.exitCode === null) gateway.child.kill("SIGKILL")
    await gateway.exited
  })

  it("refuses an unpinned gateway, pins it on --trust-fingerprint, re-pins after rotate-cert", async () => {
    const first = await servedFingerprint()
    assert.match(first, /^[0-9a-f]{64}$/)
    assert.strictEqual(statSync(join(stateDir, "tls", "gateway-key.pem")).mode & 0o777, 0o600)

    const unpinned = await remote("health")
    assert.strictEqual(unpinned.code, 1)
    assert.include(unpinned.stderr, `not pinned`)
    assert.include(unpinned.stderr, `--trust-fingerprint ${first}`)

    const colon = first.toUpperCase().match(/../g)!.join(":")
    const trusted = await remote("health", "--trust-fingerprint", colon)
    assert.strictEqual(trusted.code, 0, trusted.stderr)
    assert.strictEqual(statSync(join(clientHome, ".openclaw", "tls-pins.json")).mode & 0o777, 0o600)
    assert.strictEqual((await remote("health")).code, 0)

    const rotated = await local("gateway", "rotate-cert", "--json")
    assert.strictEqual(rotated.code, 0, rotated.stderr)
    const next = JSON.parse(rotated.stdout).fingerprint as string
    assert.notStrictEqual(next, first)
    gateway.child.kill("SIGTERM")
    await gateway.exited
    gateway = await startGateway()
    assert.strictEqual(await servedFingerprint(), next)

    const changed = await remote("health")
    assert.strictEqual(changed.code, 1)
    assert.include(changed.stderr, "the gateway's certificate changed")
    assert.include(changed.stderr, first)
    assert.include(changed.stderr, `--trust-fingerprint ${next}`)

    assert.strictEqual((await remote("health", "--trust-fingerprint", next)).code, 0)
    assert.strictEqual((await remote("health")).code, 0)
    assert.strictEqual((await local("health")).code, 0)
  }, 60_000)

  it("runs gatehouse's node host over wss:// with --tls-fingerprint", async () => {
    const fingerprint = await servedFingerprint()
    const node = await startDaemon(
      ["node", "run", "--url", `wss://127.0.0.1:${port}`, "--token", token, "--tls-fingerprint", fingerprint, "--display-name", "tls-node"],
      { HOME: tempHome() },
      /node connected/
    )
    try {
      const r = await local("nodes", "invoke", "tls-node", "system.which", "--params", "{\"name\":\"sh\"}")
      assert.strictEqual(r.code, 0, r.stderr)
      assert.match(r.stdout.trim(), /\/sh$/)
    } finally {
      node.child.kill("SIGINT")
      await node.exited
    }
  }, 60_000)

  it("pairs a node over wss:// from a setup code alone, which carries the pin", async () => {
    const fingerprint = await servedFingerprint()
    const made = await local("setup-code", "--role", "node", "--json")
    assert.strictEqual(made.code, 0, made.stderr)
    const code = JSON.parse(made.stdout).code as string
    assert.strictEqual(JSON.parse(Buffer.from(code, "base64url").toString("utf8")).tlsFingerprint, fingerprint)
    const home = tempHome()
    const node = await startDaemon(["node", "run", "--pair", code, "--display-name", "tls-paired"], { HOME: home }, /node connected/)
    node.child.kill("SIGINT")
    await node.exited
    const pins = JSON.parse(readFileSync(join(home, ".openclaw", "tls-pins.json"), "utf8")).pins
    assert.strictEqual(pins[`127.0.0.1:${port}`].fingerprint, fingerprint)
  }, 60_000)

  it.runIf(openclawAvailable)("serves the published openclaw node host over --tls --tls-fingerprint, which answers an invoke", async () => {
    const fingerprint = await servedFingerprint()
    const nodeHome = tempHome()
    mkdirSync(join(nodeHome, "tmp"), { recursive: true })
    const ocNode = await startDaemon(
      ["node", "run", "--host", "127.0.0.1", "--port", String(port), "--tls", "--tls-fingerprint", fingerprint, "--display-name", "oc-tls-node"],
      { HOME: nodeHome, TMPDIR: join(nodeHome, "tmp"), OPENCLAW_GATEWAY_TOKEN: token, OPENCLAW_DISABLE_BONJOUR: "1", NO_COLOR: "1" },
      /gateway connected/,
      openclawBin!
    )
    try {
      const listed = await local("nodes", "list")
      assert.include(listed.stdout, "oc-tls-node")
      const r = await local("nodes", "invoke", "oc-tls-node", "system.which", "--params", "{\"bins\":[\"sh\"]}", "--json")
      assert.strictEqual(r.code, 0, r.stdout + r.stderr)
      assert.match(JSON.parse(r.stdout).payload.bins.sh, /\/sh$/)
    } finally {
      ocNode.child.kill("SIGTERM")
      await ocNode.exited
    }
  }, 120_000)
})
