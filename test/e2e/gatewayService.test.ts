import { afterEach, assert, describe, it } from "@effect/vitest"
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { BIN, freePort, run, startDaemon } from "../helpers/processes.ts"
import { tempHome } from "../helpers/testGateway.ts"

// Gateways a restart started (not children of this test): ended by their pid after each test.
const started: Array<number> = []
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // Already gone.
    }
  }
})

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

// A stand-in `systemctl` that records its arguments and does what systemd would for the profile "svc":
// restart stops the gateway holding the lock and starts another; disable --now stops it.
const fakeSystemctl = (home: string, port: number) => {
  const dir = join(home, "fake-bin")
  mkdirSync(dir, { recursive: true })
  const state = join(home, ".openclaw-svc")
  const log = join(home, "systemctl.log")
  writeFileSync(join(dir, "systemctl"), `#!/bin/sh
echo "$*" >> '${log}'
lockpid() { sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' '${state}/gateway.lock' 2>/dev/null; }
stop() {
  p=$(lockpid)
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null
  i=0
  while kill -0 "$p" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done
}
case "$2" in
  restart) stop; nohup '${process.execPath}' '${BIN}' --profile svc gateway run --port ${port} >> '${home}/fake-systemd-gateway.log' 2>&1 & ;;
  is-active) if [ -n "$(lockpid)" ]; then echo active; else echo inactive; fi ;;
  is-enabled) echo enabled ;;
  disable) stop ;;
esac
exit 0
`)
  chmodSync(join(dir, "systemctl"), 0o755)
  return { path: `${dir}:${process.env.PATH ?? ""}`, log: () => (existsSync(log) ? readFileSync(log, "utf8") : "") }
}

describe("gateway restart, uninstall-service and status", () => {
  it("restarts a gateway by the pid in its profile lock, with the same command line, and waits until it listens", async () => {
    const env = { HOME: tempHome() }
    const port = await freePort()
    const first = await startDaemon(["--profile", "rs", "gateway", "run", "--port", String(port)], env, /listening on ws:/)
    const restarted = await run(["--profile", "rs", "gateway", "restart", "--json"], env)
    const doc = JSON.parse(restarted.stdout)
    if (typeof doc.pid === "number") started.push(doc.pid)
    assert.strictEqual(restarted.code, 0, restarted.stdout + restarted.stderr)
    assert.deepInclude(doc, { ok: true, via: "pid", port, previousPid: first.child.pid })
    assert.notStrictEqual(doc.pid, first.child.pid)
    assert.strictEqual(await first.exited, 0, "the old gateway stopped cleanly")
    assert.isTrue(alive(doc.pid))

    // The client finds the gateway on the configured port (it was started with --port).
    const status = await run(["--profile", "rs", "gateway", "status", "--json"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
    assert.strictEqual(status.code, 0, status.stdout + status.stderr)
    const s = JSON.parse(status.stdout)
    assert.deepInclude(s.service, { unit: "gatehouse-rs.service", installed: false, running: true, pid: doc.pid, port })
    assert.strictEqual(s.status.gateway.port, port)
    assert.isAtLeast(s.status.uptimeMs, 0)

    // The restarted gateway serves the same profile: stopping it works as for any other.
    const stopped = await run(["--profile", "rs", "gateway", "stop", "--json"], env)
    assert.deepInclude(JSON.parse(stopped.stdout), { ok: true, stopped: true, pid: doc.pid })
    const none = await run(["--profile", "rs", "gateway", "restart", "--json"], env)
    assert.strictEqual(none.code, 1)
    const failed = JSON.parse(none.stdout)
    assert.strictEqual(failed.ok, false)
    assert.include(failed.error.hint, "gateway run")
  }, 120_000)

  it("an edited port is reported as restart needed by the running gateway, and restart applies it", async () => {
    const home = tempHome()
    const env = { HOME: home }
    const [before, after] = [await freePort(), await freePort()]
    const configPath = join(home, ".openclaw-edit", "openclaw.json")
    mkdirSync(join(home, ".openclaw-edit"), { recursive: true })
    writeFileSync(configPath, JSON.stringify({ gateway: { port: before } }))
    const first = await startDaemon(["--profile", "edit", "gateway", "run"], env, /listening on ws:/)
    writeFileSync(configPath, JSON.stringify({ gateway: { port: after } }))
    let waiting: ReadonlyArray<string> = []
    for (let i = 0; i < 50 && waiting.length === 0; i++) {
      const s = await run(["--profile", "edit", "status", "--json"], env)
      assert.strictEqual(s.code, 0, s.stdout + s.stderr)
      waiting = JSON.parse(s.stdout).status.config?.restartNeeded ?? []
      if (waiting.length === 0) await new Promise((resolve) => setTimeout(resolve, 200))
    }
    assert.deepStrictEqual(waiting, ["gateway.port"])
    assert.include(first.output(), "config changed gateway.port: restart needed to apply (run `gatehouse gateway restart`)")
    const human = await run(["--profile", "edit", "status"], env)
    assert.include(human.stdout, "Restart   needed for gateway.port: run `gatehouse gateway restart`")

    const restarted = await run(["--profile", "edit", "gateway", "restart", "--json"], env)
    const doc = JSON.parse(restarted.stdout)
    if (typeof doc.pid === "number") started.push(doc.pid)
    assert.deepInclude(doc, { ok: true, via: "pid", port: after })
    await first.exited
    const now = JSON.parse((await run(["--profile", "edit", "status", "--json"], env)).stdout)
    assert.strictEqual(now.status.gateway.port, after)
    assert.isUndefined(now.status.config, "nothing waits for a restart any more")
  }, 120_000)

  it("restarts through systemd when the unit is installed, reports it in status, and uninstall-service stops, disables and removes it", async () => {
    const home = tempHome()
    const port = await freePort()
    const systemctl = fakeSystemctl(home, port)
    const env = { HOME: home, PATH: systemctl.path }
    const first = await startDaemon(["--profile", "svc", "gateway", "run", "--port", String(port)], env, /listening on ws:/)
    assert.strictEqual((await run(["--profile", "svc", "gateway", "install-service"], env)).code, 0)
    const unit = join(home, ".config", "systemd", "user", "gatehouse-svc.service")
    assert.isTrue(existsSync(unit))

    const restarted = await run(["--profile", "svc", "gateway", "restart", "--json"], env)
    const doc = JSON.parse(restarted.stdout)
    if (typeof doc.pid === "number") started.push(doc.pid)
    assert.strictEqual(restarted.code, 0, restarted.stdout + restarted.stderr)
    assert.deepInclude(doc, { ok: true, via: "systemd", unit: "gatehouse-svc.service", port, previousPid: first.child.pid })
    assert.include(systemctl.log(), "--user restart gatehouse-svc.service")
    await first.exited

    const status = JSON.parse((await run(["--profile", "svc", "gateway", "status", "--json"], env)).stdout)
    assert.deepInclude(status.service, { installed: true, active: "active", enabled: "enabled", running: true, pid: doc.pid })

    const removed = await run(["--profile", "svc", "gateway", "uninstall-service", "--json"], env)
    assert.strictEqual(removed.code, 0, removed.stdout + removed.stderr)
    assert.deepInclude(JSON.parse(removed.stdout), { ok: true, removed: true, unit: "gatehouse-svc.service" })
    assert.isFalse(existsSync(unit))
    assert.include(systemctl.log(), "--user disable --now gatehouse-svc.service")
    assert.include(systemctl.log(), "--user daemon-reload")
    assert.isFalse(alive(doc.pid), "disable --now stopped the gateway")

    // Safe when absent: nothing to remove, still a success, one JSON document.
    const again = await run(["--profile", "svc", "gateway", "uninstall-service", "--json"], env)
    assert.strictEqual(again.code, 0)
    assert.deepInclude(JSON.parse(again.stdout), { ok: true, removed: false })
  }, 120_000)

  it("a failing systemctl restart is a failure with the journalctl hint, as one JSON document", async () => {
    const home = tempHome()
    const dir = join(home, "fake-bin")
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, "systemctl"), "#!/bin/sh\necho 'Failed to restart gatehouse-bad.service: Unit not found.' >&2\nexit 5\n")
    chmodSync(join(dir, "systemctl"), 0o755)
    const env = { HOME: home, PATH: `${dir}:${process.env.PATH ?? ""}` }
    assert.strictEqual((await run(["--profile", "bad", "gateway", "install-service"], env)).code, 0)
    const failed = await run(["--profile", "bad", "gateway", "restart", "--json"], env)
    assert.strictEqual(failed.code, 1)
    const doc = JSON.parse(failed.stdout)
    assert.strictEqual(doc.ok, false)
    assert.include(doc.error.message, "Unit not found")
    assert.include(doc.error.hint, "journalctl --user -u gatehouse-bad.service")
  }, 60_000)
})
