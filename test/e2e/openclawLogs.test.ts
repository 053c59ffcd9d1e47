import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { homeWithConfig, tempHome } from "../helpers/testGateway.ts"

// The published OpenClaw CLI (npm openclaw@2026.9.6) reading gatehouse's logs. .ci/run installs it and sets OPENCLAW_BIN.
const bin = process.env.OPENCLAW_BIN
const available = bin !== undefined && existsSync(bin)
if (!available) {
  if (process.env.CI === "true") throw new Error("OPENCLAW_BIN must point at the openclaw CLI under CI (.ci/run installs it)")
  console.log("skipping openclaw logs against gatehouse: set OPENCLAW_BIN to node_modules/openclaw/openclaw.mjs of an openclaw@2026.9.6 install")
}

const waitFor = async (what: string, check: () => boolean, ms = 15_000) => {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe("logs.tail against a gatehouse daemon", () => {
  const token = "logs-token-5d2e9a71c3"
  const gatewayEnv = homeWithConfig({})
  let port = 0
  let daemon: Daemon
  let url = ""
  const auth = () => ["--url", url, "--token", token]

  beforeAll(async () => {
    port = await freePort()
    url = `ws://127.0.0.1:${port}`
    daemon = await startDaemon(["gateway", "run", "--port", String(port), "--token", token], gatewayEnv, /listening on ws:/)
  }, 60_000)

  afterAll(async () => {
    daemon.child.kill("SIGTERM")
    await daemon.exited
  })

  it.runIf(available)("openclaw logs --limit 5 prints the gateway's lines", async () => {
    const ocHome = tempHome()
    mkdirSync(join(ocHome, "tmp"), { recursive: true })
    const r = await run(["logs", "--limit", "5", ...auth()], { HOME: ocHome, TMPDIR: join(ocHome, "tmp"), NO_COLOR: "1" }, bin!)
    assert.strictEqual(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, new RegExp(`info gateway gatehouse \\S+ listening on ws://127\\.0\\.0\\.1:${port}`))
    assert.include(r.stdout, `Log file: ${join(gatewayEnv.OPENCLAW_STATE_DIR, "logs", "gateway.log")}`)
    assert.notInclude(r.stdout + r.stderr, "truncated")
  }, 60_000)

  it("gatehouse logs --json prints one document; the log file is 0600 and holds the same lines", async () => {
    const r = await run(["logs", "--json", "--limit", "5", ...auth()], gatewayEnv)
    assert.strictEqual(r.code, 0, r.stdout + r.stderr)
    const doc = JSON.parse(r.stdout)
    assert.strictEqual(doc.ok, true)
    assert.isAtMost(doc.lines.length, 5)
    const listening = doc.lines.find((l: { message: string }) => l.message.includes("listening on"))
    assert.strictEqual(listening.level, "info")
    const file = join(gatewayEnv.OPENCLAW_STATE_DIR, "logs", "gateway.log")
    assert.strictEqual(statSync(file).mode & 0o777, 0o600)
    assert.include(readFileSync(file, "utf8"), listening.message)
    assert.notInclude(readFileSync(file, "utf8"), token)
    const human = await run(["logs", "--limit", "5", ...auth()], gatewayEnv)
    assert.strictEqual(human.code, 0, human.stdout + human.stderr)
    assert.match(human.stdout, /^\d{4}-\d\d-\d\dT\S+ INFO  gatehouse \S+ listening on ws:/m)
    const bad = await run(["logs", "--limit", "0", "--json", ...auth()], gatewayEnv)
    assert.strictEqual(bad.code, 1)
    assert.deepInclude(JSON.parse(bad.stdout), { ok: false })
    assert.strictEqual(JSON.parse(bad.stdout).error.code, "INVALID_ARGUMENT")
    assert.include(JSON.parse(bad.stdout).error.hint, "--limit 200")
  }, 60_000)

  it("gatehouse logs --follow prints each new line once, as it comes", async () => {
    const followHome = homeWithConfig({})
    const follower = await startDaemon(["logs", "--follow", "--json", "--interval", "100", ...auth()], followHome, /listening on/)
    try {
      // A new device on loopback is paired automatically, and the gateway logs it.
      const other = tempHome()
      const before = follower.output().split("\n").length
      const r = await run(["health", ...auth()], { HOME: other })
      assert.strictEqual(r.code, 0, r.stdout + r.stderr)
      await waitFor("the pairing line", () => /auto-approved/.test(follower.output().split("\n").slice(before - 1).join("\n")))
      const raw = follower.output().trim().split("\n")
      const messages = raw.map((l) => (JSON.parse(l) as { message: string }).message)
      // Every record carries its time: a line printed twice by a wrong cursor would repeat exactly.
      assert.strictEqual(new Set(raw).size, raw.length)
      assert.strictEqual(messages.filter((m) => m.includes("listening on")).length, 1)
    } finally {
      follower.child.kill("SIGTERM")
      await follower.exited
    }
  }, 60_000)
})
