import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { homeWithConfig } from "../helpers/testGateway.ts"

describe("config show asks the running gateway where its secret came from", () => {
  const token = "env-only-token-5d1c0e9a7b"
  const env = homeWithConfig({})
  let port = 0
  let daemon: Daemon

  beforeAll(async () => {
    port = await freePort()
    daemon = await startDaemon(["gateway", "run", "--port", String(port)], { ...env, OPENCLAW_GATEWAY_TOKEN: token }, /listening on ws:/)
    // The CLI pairs once while it holds the token (silently, on loopback); later it uses its device token.
    const first = await run(["health"], { ...env, OPENCLAW_GATEWAY_PORT: String(port), OPENCLAW_GATEWAY_TOKEN: token })
    assert.strictEqual(first.code, 0, first.stderr)
  })
  afterAll(async () => {
    daemon.child.kill("SIGTERM")
    await daemon.exited
  })

  it("names the gateway's environment, not 'not set', when this shell lacks the token", async () => {
    const r = await run(["config", "show"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
    assert.strictEqual(r.code, 0, r.stderr)
    assert.match(r.stdout, /in force +the running gateway uses auth token with the secret from its environment \(OPENCLAW_GATEWAY_TOKEN\)/)
    assert.notInclude(r.stdout, token)
    const json = JSON.parse((await run(["config", "show", "--json"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })).stdout)
    assert.deepInclude(json.runningGateway, { running: true, reachable: true, authMode: "token", secretSource: "env" })
  })
})
