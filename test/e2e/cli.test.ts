import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { WebSocket } from "ws"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { tempHome } from "../helpers/testGateway.ts"

describe("the gatehouse command", () => {
  const home = tempHome()
  const env = { HOME: home }
  let port = 0
  let daemon: Daemon
  let token = ""

  beforeAll(async () => {
    port = await freePort()
    daemon = await startDaemon(["gateway", "run", "--port", String(port)], env, /listening on ws:/)
    token = readFileSync(join(home, ".openclaw", "gateway.token"), "utf8").trim()
  })

  afterAll(async () => {
    if (daemon.child.exitCode === null) {
      daemon.child.kill("SIGKILL")
      await daemon.exited
    }
  })

  it("with --json, every command prints exactly one JSON document on stdout, on success and on failure", async () => {
    const commands: ReadonlyArray<ReadonlyArray<string>> = [
      ["health"],
      ["status"],
      ["status", "--deep"],
      ["status", "--all"],
      ["gateway", "health"],
      ["gateway", "status"],
      ["gateway", "call", "last-heartbeat"],
      ["devices", "list"],
      ["nodes", "list"],
      ["nodes", "pending"],
      ["setup-code"]
    ]
    for (const command of commands) {
      const ok = await run([...command, "--json"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
      assert.strictEqual(ok.code, 0, `${command.join(" ")}: ${ok.stderr}`)
      assert.doesNotThrow(() => JSON.parse(ok.stdout), `${command.join(" ")} printed: ${ok.stdout}`)
      const failed = await run([...command, "--json", "--url", "ws://127.0.0.1:1", "--token", "t"], { HOME: tempHome() })
      assert.notStrictEqual(failed.code, 0, command.join(" "))
      const doc = JSON.parse(failed.stdout) as { ok: boolean; error: { code: string; message: string } }
      assert.strictEqual(doc.ok, false, command.join(" "))
      assert.strictEqual(doc.error.code, "UNREACHABLE", `${command.join(" ")}: ${failed.stdout}`)
      assert.include(doc.error.message, "ws://127.0.0.1:1")
    }
    const invalid = JSON.parse((await run(["health", "--json", "--url", "ws://127.0.0.1:1"], { HOME: tempHome() })).stdout)
    assert.deepInclude(invalid, { ok: false })
    assert.isString(invalid.error.hint)
  }, 240_000)

  it("stops a profile's gateway cleanly with gateway stop, and stopping again is not an error", async () => {
    const own = { HOME: tempHome() }
    const gateway = await startDaemon(["--profile", "stoppable", "gateway", "run", "--port", String(await freePort())], own, /listening on ws:/)
    const stopped = await run(["--profile", "stoppable", "gateway", "stop"], own)
    assert.strictEqual(stopped.code, 0, stopped.stderr)
    assert.match(stopped.stdout, new RegExp(`Stopped the gateway \\(pid ${gateway.child.pid}, port \\d+\\)`))
    assert.strictEqual(await gateway.exited, 0)
    const again = await run(["--profile", "stoppable", "gateway", "stop", "--json"], own)
    assert.strictEqual(again.code, 0)
    assert.deepInclude(JSON.parse(again.stdout), { ok: true, stopped: false })
  })

  it("config get prints one key, config validate lists every problem and exits 1", async () => {
    const own = tempHome()
    mkdirSync(join(own, ".openclaw"), { recursive: true })
    writeFileSync(join(own, ".openclaw", "openclaw.json"), "{ gateway: { port: 18877, auth: { token: 'abcdefghijklmnopqrstuvwx' } }, // ok\n}")
    const port = await run(["config", "get", "gateway.port"], { HOME: own })
    assert.strictEqual(port.stdout.trim(), "18877")
    const secret = await run(["config", "get", "gateway.auth.token", "--json"], { HOME: own })
    assert.notInclude(secret.stdout, "abcdefghijklmnopqrstuvwx")
    assert.strictEqual((await run(["config", "validate"], { HOME: own })).code, 0)
    writeFileSync(join(own, ".openclaw", "openclaw.json"), "{ gateway: { port: 'x', bind: 'moon' } }")
    const invalid = await run(["config", "validate"], { HOME: own })
    assert.strictEqual(invalid.code, 1)
    assert.include(invalid.stderr, "gateway.port")
    assert.include(invalid.stderr, "gateway.bind")
  })

  it("config set changes one key and keeps the rest, refuses an invalid result, and unset removes it", async () => {
    const own = tempHome()
    const file = join(own, ".openclaw", "openclaw.json")
    mkdirSync(join(own, ".openclaw"), { recursive: true })
    writeFileSync(file, "// mine\n{ agents: { list: ['a'] }, gateway: { port: 18877 } }\n")
    const set = await run(["config", "set", "gateway.pairing.autoApproveLocal", "false"], { HOME: own })
    assert.strictEqual(set.code, 0, set.stderr)
    assert.include(set.stdout, "openclaw.json.bak")
    assert.deepStrictEqual(JSON.parse(readFileSync(file, "utf8")), { agents: { list: ["a"] }, gateway: { port: 18877, pairing: { autoApproveLocal: false } } })
    assert.include(readFileSync(`${file}.bak`, "utf8"), "// mine")
    const invalid = await run(["config", "set", "gateway.port", "\"not a port\""], { HOME: own })
    assert.strictEqual(invalid.code, 1)
    assert.include(invalid.stderr, "gateway.port")
    assert.strictEqual(JSON.parse(readFileSync(file, "utf8")).gateway.port, 18877)
    assert.strictEqual((await run(["config", "unset", "gateway.pairing"], { HOME: own })).code, 0)
    assert.deepStrictEqual(JSON.parse(readFileSync(file, "utf8")).gateway, { port: 18877 })
  })

  it("doctor says everything checks out for a running gateway, and names the fix when none runs", async () => {
    const good = await run(["doctor"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
    assert.strictEqual(good.code, 0, good.stdout + good.stderr)
    assert.include(good.stdout, "Everything checks out.")
    const none = await run(["doctor", "--json"], { HOME: tempHome() })
    assert.strictEqual(none.code, 1)
    const report = JSON.parse(none.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; fix?: string }> }
    assert.isFalse(report.ok)
    assert.include(report.checks.find((c) => c.name === "gateway")?.fix, "gatehouse gateway run")
  })

  it("answers a mistyped command with did-you-mean first, not the whole help", async () => {
    const top = await run(["helth"], { HOME: tempHome() })
    assert.strictEqual(top.code, 1)
    assert.strictEqual(top.stdout, "")
    assert.match(top.stderr, /^error: unknown command "helth" for "gatehouse"\. Did you mean "health"\?/)
    const nested = await run(["devices", "aprove"], { HOME: tempHome() })
    assert.match(nested.stderr, /Did you mean "approve"\?\nRun `gatehouse devices --help`/)
  })

  it("reaches the local gateway with no flags", async () => {
    const r = await run(["health", "--timeout", "5000"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
    assert.strictEqual(r.code, 0, r.stderr)
    assert.match(r.stdout, /^Gateway Health\nOK \(\d+ms\)/)
    assert.match(r.stdout, /\nEvent loop: (ok|degraded[^\n]*) max=\d+ms p99=\d+ms util=[\d.]+ cpu=[\d.]+/)
  })

  it("prints a pasteable status --all: health, event loop and process figures, with no secret", async () => {
    const r = await run(["status", "--all"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
    assert.strictEqual(r.code, 0, r.stderr)
    assert.match(r.stdout, /\nHealth +OK\nEvent loop +(ok|degraded)/)
    assert.match(r.stdout, /\nProcess +rss=[\d.]+ MiB heap=[\d.]+ MiB maxRss=[\d.]+ MiB · event loop since start p99=\d+ms/)
    assert.notInclude(r.stdout, token)
    const json = JSON.parse((await run(["status", "--all", "--json"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })).stdout)
    assert.isNumber(json.stability.summary.memory.latest.rssBytes)
    assert.isBoolean(json.health.eventLoop.degraded)
  })

  it("prints OK for gateway health with --url and --token", async () => {
    const r = await run(["gateway", "health", "--url", `ws://127.0.0.1:${port}`, "--token", token], { HOME: tempHome() })
    assert.strictEqual(r.code, 0, r.stderr)
    assert.include(r.stdout, "OK")
  })

  it("fails --url without credentials before any network I/O, even with a token in env", async () => {
    const r = await run(["gateway", "health", "--url", "ws://127.0.0.1:1"], { HOME: home, OPENCLAW_GATEWAY_TOKEN: token })
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, "gateway url override requires explicit credentials")
    assert.notInclude(r.stderr, "refused")
  })

  it("says a wrong token is wrong and how to find the right one", async () => {
    const r = await run(["gateway", "health", "--url", `ws://127.0.0.1:${port}`, "--token", "nope"], { HOME: tempHome() })
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, "gateway token mismatch")
    assert.include(r.stderr, "gatehouse config show")
  })

  it("reports status as JSON for scripts", async () => {
    const r = await run(["status", "--json", "--deep"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
    assert.strictEqual(r.code, 0, r.stderr)
    const status = JSON.parse(r.stdout)
    assert.strictEqual(status.ok, true)
    assert.strictEqual(status.status.gateway.port, port)
    assert.strictEqual(status.health.ok, true)
  })

  it("calls any method and prints its JSON", async () => {
    const r = await run(["gateway", "call", "system-presence"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
    assert.strictEqual(r.code, 0, r.stderr)
    assert.strictEqual(JSON.parse(r.stdout)[0].mode, "gateway")
    const bad = await run(["gateway", "call", "health", "--params", "[1]"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
    assert.strictEqual(bad.code, 1)
    assert.include(bad.stderr, "--params must be a JSON object")
  })

  it("shows the effective config with sources and no secret", async () => {
    const r = await run(["config", "show", "--json"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
    assert.strictEqual(r.code, 0, r.stderr)
    const shown = JSON.parse(r.stdout)
    assert.deepStrictEqual(shown.port, { value: port, source: "env" })
    assert.strictEqual(shown.auth.token.source, "state")
    assert.notInclude(r.stdout, token)
  })

  it("refuses a second gateway on the same profile, naming the running PID", async () => {
    const r = await run(["gateway", "run", "--port", String(port)], env)
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, `pid ${daemon.child.pid}`)
  })

  it("says a gateway that is not running is unreachable and how to start one", async () => {
    const idle = await freePort()
    const r = await run(["status"], { HOME: tempHome(), OPENCLAW_GATEWAY_PORT: String(idle) })
    assert.strictEqual(r.code, 1)
    assert.include(r.stdout, "unreachable")
    assert.include(r.stderr, "gatehouse gateway run")
  })

  it("logs JSON lines when asked to", async () => {
    const jsonPort = await freePort()
    const d = await startDaemon(["gateway", "run", "--port", String(jsonPort), "--log-format", "json"], { HOME: tempHome() }, /listening on ws:/)
    d.child.kill("SIGTERM")
    assert.strictEqual(await d.exited, 0)
    const lines = d.output().trim().split("\n").map((l) => JSON.parse(l) as { message: unknown; level: string })
    assert.isTrue(lines.some((l) => String(l.message).includes("listening on ws://127.0.0.1")))
    assert.isTrue(lines.some((l) => String(l.message).includes("gateway stopped")))
  })

  it("writes a systemd unit that runs the gateway", async () => {
    const r = await run(["--profile", "work", "gateway", "install-service", "--print"], env)
    assert.strictEqual(r.code, 0, r.stderr)
    assert.match(r.stdout, /ExecStart=.* --profile work gateway run/)
  })

  it("on SIGTERM sends shutdown, closes clients with 1012 and exits 0", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`)
    const events: Array<string> = []
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)))
    const hello = new Promise<void>((resolve) =>
      ws.on("message", (data) => {
        const f = JSON.parse(String(data))
        if (f.event) events.push(f.event)
        if (f.event === "connect.challenge") {
          ws.send(JSON.stringify({
            type: "req",
            id: "c",
            method: "connect",
            params: {
              minProtocol: 4,
              maxProtocol: 4,
              client: { id: "cli", version: "t", platform: "linux", mode: "cli" },
              auth: { token },
              scopes: []
            }
          }))
        }
        if (f.id === "c") resolve()
      })
    )
    await hello
    daemon.child.kill("SIGTERM")
    assert.strictEqual(await closed, 1012)
    assert.strictEqual(events.at(-1), "shutdown")
    assert.strictEqual(await daemon.exited, 0)
    assert.include(daemon.output(), "gateway stopped")
  })
})
