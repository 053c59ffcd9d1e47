import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { netnsPair, type NetnsPair, netnsUnavailable } from "../helpers/netns.ts"
import { BIN, type Daemon, run, startDaemon } from "../helpers/processes.ts"
import { tempHome } from "../helpers/testGateway.ts"

// The SSH fallback against a real OpenSSH server: sshd (key-only) and a loopback-only gateway in one
// network namespace, the client in another; the client reaches the gateway only through `ssh -N -L`.
const SSHD = "/usr/sbin/sshd"
const unavailable = netnsUnavailable() ??
  (existsSync(SSHD) ? undefined : `${SSHD} is missing (apt-get install openssh-server)`) ??
  (spawnSync("ssh", ["-V"]).status === 0 ? undefined : "the ssh client is missing (apt-get install openssh-client)")
if (unavailable !== undefined) {
  if (process.env.CI === "true") throw new Error(`the SSH transport test must run under CI: ${unavailable}`)
  console.log(`skipping the SSH transport test: ${unavailable}`)
}

const IP = "/usr/sbin/ip"
const SSH_PORT = 2222
const GW_PORT = 18789

describe.runIf(unavailable === undefined)("the SSH transport against a real OpenSSH server", () => {
  let ns: NetnsPair
  let dir = ""
  let sshd: Daemon | undefined
  let gateway: Daemon
  let token = ""
  let target = ""
  const gatewayHome = tempHome()
  const clientHome = tempHome()
  const daemons: Array<Daemon> = []

  const keygen = (path: string) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "gatehouse-test", "-f", path])
  const pub = (path: string) => readFileSync(`${path}.pub`, "utf8").split(" ").slice(0, 2).join(" ")
  /** An ssh_config that never reads the real ~/.ssh: its own key and known_hosts, strict checking. */
  const sshConfig = (name: string, key: string, knownHosts: string) => {
    const path = join(dir, name)
    writeFileSync(path, [
      "Host *",
      `  IdentityFile ${key}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${knownHosts}`,
      "  GlobalKnownHostsFile /dev/null",
      "  StrictHostKeyChecking yes",
      "  ConnectTimeout 5",
      ""
    ].join("\n"))
    return `ssh -F ${path}`
  }
  const clientEnv = (sshCommand: string) => ({ HOME: clientHome, GATEHOUSE_SSH_COMMAND: sshCommand })
  const inClient = (env: Record<string, string>, ...args: Array<string>) =>
    run(["netns", "exec", ns.client, process.execPath, BIN, ...args], env, IP)
  let goodSsh = ""

  const startSshd = async () => {
    sshd = await startDaemon(["netns", "exec", ns.gateway, SSHD, "-D", "-e", "-f", join(dir, "sshd_config")], {}, /Server listening on/, IP)
  }
  /** Kills our sshd and the per-connection sshd processes it forked (they outlive the listener). */
  const killSshd = async () => {
    const pid = sshd!.child.pid!
    const children = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).stdout.split(/\s+/).filter((p) => p !== "")
    const grandchildren = children.flatMap((c) => spawnSync("pgrep", ["-P", c], { encoding: "utf8" }).stdout.split(/\s+/).filter((p) => p !== ""))
    sshd!.child.kill("SIGKILL")
    for (const p of [...children, ...grandchildren]) {
      try {
        process.kill(Number(p), "SIGKILL")
      } catch {
        // already gone
      }
    }
    await sshd!.exited
  }

  beforeAll(async () => {
    ns = netnsPair(`s${process.pid % 10000}`)
    target = `root@${ns.gatewayIp}:${SSH_PORT}`
    dir = mkdtempSync(join(tmpdir(), "gatehouse-sshd-"))
    for (const k of ["host_key", "other_host_key", "client_key", "stranger_key"]) keygen(join(dir, k))
    writeFileSync(join(dir, "authorized_keys"), pub(join(dir, "client_key")) + "\n", { mode: 0o600 })
    writeFileSync(join(dir, "known_hosts"), `[${ns.gatewayIp}]:${SSH_PORT} ${pub(join(dir, "host_key"))}\n`)
    writeFileSync(join(dir, "wrong_known_hosts"), `[${ns.gatewayIp}]:${SSH_PORT} ${pub(join(dir, "other_host_key"))}\n`)
    writeFileSync(join(dir, "sshd_config"), [
      `Port ${SSH_PORT}`,
      `ListenAddress ${ns.gatewayIp}`,
      `HostKey ${join(dir, "host_key")}`,
      "PidFile none",
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "AuthenticationMethods publickey",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "AllowTcpForwarding local",
      `PermitOpen 127.0.0.1:${GW_PORT}`,
      "X11Forwarding no",
      "AllowAgentForwarding no",
      "PermitTTY no",
      "LoginGraceTime 15",
      "LogLevel VERBOSE",
      ""
    ].join("\n"))
    mkdirSync("/run/sshd", { recursive: true })
    goodSsh = sshConfig("ssh_config", join(dir, "client_key"), join(dir, "known_hosts"))
    await startSshd()
    // The gateway binds loopback only (the default): nothing outside its namespace can reach it but sshd's forward.
    gateway = await startDaemon(
      ["netns", "exec", ns.gateway, process.execPath, BIN, "gateway", "run", "--port", String(GW_PORT)],
      { HOME: gatewayHome },
      /listening on ws:/,
      IP
    )
    token = readFileSync(join(gatewayHome, ".openclaw", "gateway.token"), "utf8").trim()
  }, 30_000)

  afterAll(async () => {
    for (const d of [...daemons, gateway]) {
      if (d !== undefined && d.child.exitCode === null) {
        d.child.kill("SIGTERM")
        await d.exited
      }
    }
    if (sshd !== undefined && sshd.child.exitCode === null) await killSshd()
    ns?.down()
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  it("the gateway is not reachable directly from the client namespace", async () => {
    const r = await inClient({ HOME: clientHome, OPENCLAW_ALLOW_INSECURE_PRIVATE_WS: "1" }, "gateway", "health", "--url", `ws://${ns.gatewayIp}:${GW_PORT}`, "--token", token, "--timeout", "2000")
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, "connection refused")
  })

  it("`gateway health --ssh` reaches the loopback-only gateway through the forward, and ssh is gone afterwards", async () => {
    const r = await inClient(clientEnv(goodSsh), "gateway", "health", "--ssh", target, "--token", token)
    assert.strictEqual(r.code, 0, r.stderr)
    assert.match(r.stdout, /^Gateway Health\nOK \(\d+ms\) · ws:\/\/127\.0\.0\.1:18789 \(through ssh root@[\d.]+:2222\)\nEvent loop: /)
    // The forward's ssh process ended with the command (its process group was killed with the scope).
    const left = spawnSync("pgrep", ["-f", `ssh -F ${join(dir, "ssh_config")}`], { encoding: "utf8" }).stdout.trim()
    assert.strictEqual(left, "")
  })

  it("`status --deep --json` reports the ssh route and why the others were skipped", async () => {
    const r = await inClient(clientEnv(goodSsh), "status", "--deep", "--json", "--ssh", target, "--token", token)
    assert.strictEqual(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.strictEqual(out.ok, true)
    assert.strictEqual(out.transport.used, "ssh")
    assert.strictEqual(out.transport.ssh, target)
    assert.deepStrictEqual(out.transport.skipped.map((s: { kind: string }) => s.kind), ["direct", "discovered", "tailnet"])
    const human = await inClient(clientEnv(goodSsh), "status", "--deep", "--ssh", target, "--token", token)
    assert.strictEqual(human.code, 0, human.stderr)
    assert.include(human.stdout, `Transport      ssh via ${target} (ssh -N -L to ws://127.0.0.1:${GW_PORT} on that host)`)
    assert.include(human.stdout, "skipped direct     --ssh was given")
  })

  it("gateway.remote.transport \"ssh\" in the config works without --ssh", async () => {
    const home = tempHome()
    mkdirSync(join(home, ".openclaw"), { recursive: true })
    writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify({
      gateway: { mode: "remote", remote: { transport: "ssh", sshTarget: `root@${ns.gatewayIp}`, sshPort: SSH_PORT, token } }
    }))
    const r = await run(["netns", "exec", ns.client, process.execPath, BIN, "gateway", "call", "health"], { HOME: home, GATEHOUSE_SSH_COMMAND: goodSsh }, IP)
    assert.strictEqual(r.code, 0, r.stderr)
    assert.strictEqual(JSON.parse(r.stdout).ok, true)
  })

  it("`gatehouse tunnel` keeps a forward open, prints its local URL, and ends cleanly on SIGTERM", async () => {
    const t = await startDaemon(
      ["netns", "exec", ns.client, process.execPath, BIN, "tunnel", "--ssh", target, "--json"],
      clientEnv(goodSsh),
      /"url": "ws:\/\/127\.0\.0\.1:\d+"/,
      IP
    )
    daemons.push(t)
    const url = /"url": "(ws:\/\/127\.0\.0\.1:\d+)"/.exec(t.output())![1]!
    const r = await inClient({ HOME: clientHome }, "gateway", "health", "--url", url, "--token", token)
    assert.strictEqual(r.code, 0, r.stderr)
    assert.include(r.stdout, "OK")
    t.child.kill("SIGTERM")
    assert.strictEqual(await t.exited, 0)
    const left = spawnSync("pgrep", ["-f", `ssh -F ${join(dir, "ssh_config")}`], { encoding: "utf8" }).stdout.trim()
    assert.strictEqual(left, "")
  })

  it("a wrong host key is refused with a clear error", async () => {
    const wrong = sshConfig("ssh_config_wrong_host", join(dir, "client_key"), join(dir, "wrong_known_hosts"))
    const r = await inClient(clientEnv(wrong), "gateway", "health", "--ssh", target, "--token", token)
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, "host key CHANGED")
    assert.include(r.stderr, "ssh-keygen -R")
  })

  it("an unknown host is refused (BatchMode never asks)", async () => {
    const empty = join(dir, "empty_known_hosts")
    writeFileSync(empty, "")
    const r = await inClient(clientEnv(sshConfig("ssh_config_unknown", join(dir, "client_key"), empty)), "gateway", "health", "--ssh", target)
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, "not in known_hosts")
  })

  it("an unauthorized key is refused with a clear error", async () => {
    const stranger = sshConfig("ssh_config_stranger", join(dir, "stranger_key"), join(dir, "known_hosts"))
    const r = await inClient(clientEnv(stranger), "gateway", "health", "--ssh", target, "--token", token)
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, "refused our key")
    assert.include(r.stderr, "Permission denied (publickey)")
  })

  it("a closed gateway port on the SSH server is reported as such", async () => {
    const home = tempHome()
    mkdirSync(join(home, ".openclaw"), { recursive: true })
    writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify({ gateway: { remote: { sshRemotePort: GW_PORT + 1 } } }))
    const r = await run(["netns", "exec", ns.client, process.execPath, BIN, "gateway", "health", "--ssh", target, "--token", token], { HOME: home, GATEHOUSE_SSH_COMMAND: goodSsh }, IP)
    assert.strictEqual(r.code, 1)
    // sshd refuses the channel (PermitOpen names only the gateway's port) or nothing listens there.
    assert.include(r.stderr, "nothing answers on 127.0.0.1:18790")
  })

  it("`node run --ssh` serves invokes through the forward, reports sshd going away, and reconnects once it is back", async () => {
    const node = await startDaemon(
      ["netns", "exec", ns.client, process.execPath, BIN, "node", "run", "--ssh", target, "--token", token, "--display-name", "ssh-node"],
      clientEnv(goodSsh),
      /node connected/,
      IP
    )
    daemons.push(node)
    const invoke = () =>
      run(["netns", "exec", ns.gateway, process.execPath, BIN, "nodes", "invoke", "ssh-node", "system.which", "--params", "{\"name\":\"sh\"}"], { HOME: gatewayHome }, IP)
    const first = await invoke()
    assert.strictEqual(first.code, 0, first.stderr)
    assert.match(first.stdout.trim(), /\/sh$/)

    const before = node.output().length
    await killSshd()
    await waitForOutput(node, before, (text) => /the SSH forward to root@\S+ ended \(ssh exit 255\): Connection to \S+ closed by remote host/.test(text) && /cannot reach the SSH server/.test(text), 15_000)
    await startSshd()
    await waitForOutput(node, before, (text) => /node connected/.test(text), 20_000)
    const again = await invoke()
    assert.strictEqual(again.code, 0, again.stderr)
    assert.match(again.stdout.trim(), /\/sh$/)
  }, 60_000)
})

/** Waits until the daemon's output (since `from`) satisfies `done`, checked on each chunk it writes; fails after `ms`. */
const waitForOutput = (d: Daemon, from: number, done: (text: string) => boolean, ms: number) =>
  new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!done(d.output().slice(from))) return
      cleanup()
      resolve()
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`timed out after ${ms} ms; output:\n${d.output().slice(from)}`))
    }, ms)
    const cleanup = () => {
      clearTimeout(timer)
      d.child.stdout?.off("data", onData)
      d.child.stderr?.off("data", onData)
    }
    // The daemon's own listener appends first (it was attached first), so output() already holds the chunk.
    const onData = () => check()
    d.child.stdout?.on("data", onData)
    d.child.stderr?.on("data", onData)
    check()
  })
