import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { homeWithConfig, tempHome } from "../helpers/testGateway.ts"

// `openclaw dashboard --no-open` (the published CLI, npm openclaw@2026.9.6) finds gatehouse's Control UI: it probes
// the gateway over the WebSocket, then checks that `HEAD /` answers 200 text/html. .ci/run installs it.
const bin = process.env.OPENCLAW_BIN
const available = bin !== undefined && existsSync(bin)
if (!available) {
  if (process.env.CI === "true") throw new Error("OPENCLAW_BIN must point at the openclaw CLI under CI (.ci/run installs it)")
  console.log("skipping openclaw dashboard against gatehouse: set OPENCLAW_BIN to an openclaw@2026.9.6 install's openclaw.mjs")
}

describe.runIf(available)("openclaw dashboard against gatehouse", () => {
  const token = "dashboard-compat-token-51b7e0"
  const gatewayEnv = homeWithConfig({ gateway: { auth: { token } } })
  let port = 0
  let daemon: Daemon

  beforeAll(async () => {
    port = await freePort()
    daemon = await startDaemon(["gateway", "run", "--port", String(port)], gatewayEnv, /listening on ws:/)
  })

  afterAll(async () => {
    daemon.child.kill("SIGTERM")
    await daemon.exited
  })

  it("prints the Control UI's URL with --no-open", async () => {
    // openclaw keeps its own state in its own home: it never shares gatehouse's state dir.
    const ocHome = tempHome()
    mkdirSync(join(ocHome, "tmp"), { recursive: true })
    const r = await run(["dashboard", "--no-open"], {
      HOME: ocHome,
      TMPDIR: join(ocHome, "tmp"),
      NO_COLOR: "1",
      OPENCLAW_GATEWAY_PORT: String(port),
      OPENCLAW_GATEWAY_TOKEN: token
    }, bin!)
    assert.strictEqual(r.code, 0, r.stdout + r.stderr)
    assert.include(r.stdout, `Dashboard URL: http://127.0.0.1:${port}/`)
    assert.notMatch(r.stdout + r.stderr, /dashboard is unavailable|HTTP \d{3}/)
  }, 120_000)
})
