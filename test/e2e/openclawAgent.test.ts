import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { testEnv, tempHome } from "../helpers/testGateway.ts"

// The published OpenClaw CLI (OPENCLAW_BIN) running `openclaw agent` against a gatehouse daemon with the rules agent.
const bin = process.env.OPENCLAW_BIN
const available = bin !== undefined && existsSync(bin)
if (!available && process.env.CI === "true") throw new Error("OPENCLAW_BIN must point at the published openclaw CLI under CI=true")
if (!available) console.log("skipping openclaw agent e2e: OPENCLAW_BIN is not set")

describe.runIf(available)("openclaw agent against gatehouse", () => {
  const token = "compat-token-agent-7c2d"
  let port = 0
  let daemon: Daemon
  const env = testEnv()
  const ocHome = tempHome()
  mkdirSync(join(ocHome, "tmp"), { recursive: true })
  const openclaw = (...args: Array<string>) =>
    run(args, { HOME: ocHome, TMPDIR: join(ocHome, "tmp"), OPENCLAW_DISABLE_BONJOUR: "1", NO_COLOR: "1", OPENCLAW_GATEWAY_PORT: String(port), OPENCLAW_GATEWAY_TOKEN: token }, bin!)
  const start = () => startDaemon(["gateway", "run", "--port", String(port), "--token", token], env, /listening on ws:/)

  beforeAll(async () => {
    port = await freePort()
    daemon = await start()
  })

  afterAll(async () => {
    daemon.child.kill("SIGTERM")
    await daemon.exited
  })

  it("openclaw agent -m /status prints the rules agent's answer (accepted, then the final answer)", async () => {
    const r = await openclaw("agent", "--session-key", "main", "-m", "/status")
    assert.strictEqual(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /gatehouse \S+, up \d+ s, 0 nodes connected/)
  }, 90_000)

  it("openclaw agent --json gives the final answer, and the exchange is in chat.history after kill -9 and a restart", async () => {
    const r = await openclaw("agent", "--agent", "main", "-m", "/help", "--json")
    assert.strictEqual(r.code, 0, r.stdout + r.stderr)
    const answer = JSON.parse(r.stdout)
    assert.strictEqual(answer.status, "ok")
    assert.strictEqual(answer.sessionKey, "main")
    assert.match(answer.result.payloads[0].text, /rules agent/)
    daemon.child.kill("SIGKILL")
    await daemon.exited
    daemon = await start()
    const h = await openclaw("gateway", "call", "chat.history", "--params", JSON.stringify({ sessionKey: "main", limit: 2 }), "--json")
    assert.strictEqual(h.code, 0, h.stdout + h.stderr)
    const messages = JSON.parse(h.stdout).messages as Array<{ role: string; content: Array<{ text: string }> }>
    assert.deepStrictEqual(messages.map((m) => m.role), ["user", "assistant"])
    assert.strictEqual(messages[0]!.content[0]!.text, "/help")
    assert.match(messages[1]!.content[0]!.text, /rules agent/)
  }, 120_000)
})
