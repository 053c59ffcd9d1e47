import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { homeWithConfig, tempHome } from "../helpers/testGateway.ts"

describe("a node host, the gateway and the operator CLI", () => {
  const token = "node-e2e-token-31c9aa"
  const env = homeWithConfig({ gateway: { auth: { token }, nodes: { allowCommands: ["system.run"] } } })
  let port = 0
  let gateway: Daemon
  let allowed: Daemon
  let bare: Daemon
  const cli = (...args: Array<string>) => run(args, { ...env, OPENCLAW_GATEWAY_PORT: String(port) })

  beforeAll(async () => {
    port = await freePort()
    gateway = await startDaemon(["gateway", "run", "--port", String(port)], env, /listening on ws:/)
    allowed = await startDaemon(["node", "run", "--allow", "echo", "--display-name", "allowed-node"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) }, /node connected/)
    bare = await startDaemon(["node", "run", "--url", `ws://127.0.0.1:${port}`, "--token", token, "--display-name", "bare-node"], { HOME: tempHome() }, /node connected/)
  })

  afterAll(async () => {
    for (const d of [bare, allowed, gateway]) {
      if (d.child.exitCode === null) d.child.kill("SIGKILL")
      await d.exited
    }
  })

  it("lists both nodes as connected", async () => {
    const r = await cli("nodes", "list")
    assert.strictEqual(r.code, 0, r.stderr)
    assert.match(r.stdout, /Connected: 2/)
    assert.include(r.stdout, "allowed-node")
    assert.include(r.stdout, "bare-node")
  })

  it("finds a program with system.which", async () => {
    const r = await cli("nodes", "invoke", "allowed-node", "system.which", "--params", "{\"name\":\"sh\"}")
    assert.strictEqual(r.code, 0, r.stderr)
    assert.match(r.stdout.trim(), /^\/.*\/sh$/)
  })

  it("runs an allowed program with system.run and prints its output", async () => {
    const r = await cli("nodes", "invoke", "allowed-node", "system.run", "--params", "{\"command\":[\"echo\",\"hi\"]}")
    assert.strictEqual(r.code, 0, r.stderr)
    assert.strictEqual(r.stdout.trim(), "hi")
  })

  it("is refused, with the reason, by a node that did not allow the program", async () => {
    const r = await cli("nodes", "invoke", "bare-node", "system.run", "--params", "{\"command\":[\"echo\",\"hi\"]}")
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, "NOT_ALLOWED")
    assert.include(r.stderr, "--allow echo")
  })

  it("pairs a node from a setup code alone, and remembers the gateway for the next run", async () => {
    const code = JSON.parse((await cli("setup-code", "--role", "node", "--json")).stdout).code as string
    const home = tempHome()
    const paired = await startDaemon(["node", "run", "--pair", code, "--display-name", "paired-node"], { HOME: home }, /node connected/)
    try {
      const listed = await cli("nodes", "list")
      assert.include(listed.stdout, "paired-node")
      assert.strictEqual(JSON.parse(readFileSync(join(home, ".openclaw", "node.json"), "utf8")).url, `ws://127.0.0.1:${port}`)
    } finally {
      paired.child.kill("SIGINT")
      assert.strictEqual(await paired.exited, 0)
    }
    // No code and no token now: the saved URL and the node's device token are enough.
    const again = await startDaemon(["node", "run", "--display-name", "paired-node"], { HOME: home }, /node connected/)
    again.child.kill("SIGINT")
    assert.strictEqual(await again.exited, 0)
  })

  it("renames a node, then removes it, which disconnects it", async () => {
    const code = JSON.parse((await cli("setup-code", "--role", "node", "--json")).stdout).code as string
    const doomed = await startDaemon(["node", "run", "--pair", code, "--display-name", "doomed-node"], { HOME: tempHome() }, /node connected/)
    try {
      const renamed = await cli("nodes", "rename", "doomed-node", "spare-node")
      assert.strictEqual(renamed.code, 0, renamed.stderr)
      assert.include((await cli("nodes", "list")).stdout, "spare-node")
      const removed = await cli("nodes", "remove", "spare-node")
      assert.strictEqual(removed.code, 0, removed.stderr)
      const nodes = JSON.parse((await cli("nodes", "list", "--json")).stdout).nodes as Array<{ displayName?: string; connected: boolean }>
      assert.isFalse(nodes.some((n) => n.displayName === "spare-node" && n.connected))
      // Its node token is gone and it holds no other credential: it stops retrying and says how to pair again.
      assert.strictEqual(await doomed.exited, 1)
      assert.include(doomed.output(), "stopped retrying")
      assert.include(doomed.output(), "gatehouse node run --pair <code>")
    } finally {
      if (doomed.child.exitCode === null) doomed.child.kill("SIGINT")
      await doomed.exited
    }
  })

  it("leaves cleanly on Ctrl-C, and the gateway shows it disconnected", async () => {
    bare.child.kill("SIGINT")
    assert.strictEqual(await bare.exited, 0)
    const r = await cli("nodes", "list", "--json")
    const nodes = JSON.parse(r.stdout).nodes as Array<{ displayName: string; connected: boolean }>
    assert.isFalse(nodes.find((n) => n.displayName === "bare-node")!.connected)
  })
})
