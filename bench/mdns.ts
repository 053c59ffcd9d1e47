// The benchmark's mDNS figure: time from spawning `gatehouse gateway run` (discovery on, bound to a veth
// address, token auth) in one network namespace until python3-zeroconf, browsing in another namespace,
// resolves `_openclaw-gw._tcp` with the gateway's port and TXT. Both namespaces are made here, joined by a
// veth pair on a link-local /24 that exists only inside them (test/helpers/netns.ts), so no mDNS packet
// reaches a real network; they are deleted (and every process in them, all started here, killed)
// afterwards, also on a failure or Ctrl-C.
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { type MulticastPair, multicastPair, netnsUnavailable } from "../test/helpers/netns.ts"

const IP = "/usr/sbin/ip"
const PY = "/usr/bin/python3"
const PORT = 18789
const BROWSER = new URL("../test/e2e/fixtures/zeroconf-watch.py", import.meta.url).pathname

/** Why the figure cannot be taken here (not root, no `ip netns`, no python3-zeroconf), or undefined. */
export const mdnsUnavailable = (): string | undefined => {
  const netns = netnsUnavailable()
  if (netns !== undefined) return netns
  const zc = spawnSync(PY, ["-c", "import zeroconf"], { encoding: "utf8" })
  return zc.status === 0 ? undefined : "python3-zeroconf is missing (apt-get install python3-zeroconf)"
}

/** Each repetition's start → resolved time (ms), or why there is none. */
export const mdnsResolveTimes = async (bundle: string, token: string, reps: number): Promise<{ readonly ms: ReadonlyArray<number> } | { readonly reason: string }> => {
  const unavailable = mdnsUnavailable()
  if (unavailable !== undefined) return { reason: unavailable }
  const home = mkdtempSync(join(tmpdir(), "gatehouse-bench-mdns-"))
  mkdirSync(join(home, ".openclaw"), { recursive: true })
  writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify({ discovery: { mdns: { mode: "full" } } }))
  let ns: MulticastPair | undefined
  // Ctrl-C or a kill while the namespaces exist: delete them (ending what runs inside), then go.
  const onSignal = (signal: NodeJS.Signals) => {
    ns?.down()
    rmSync(home, { recursive: true, force: true })
    process.exit(signal === "SIGINT" ? 130 : 143)
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  try {
    ns = multicastPair(`b${process.pid % 10000}`)
    const ms: Array<number> = []
    for (let rep = 0; rep < reps; rep++) ms.push(await once(ns, bundle, token, home))
    return { ms }
  } catch (e) {
    return { reason: `failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}` }
  } finally {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    ns?.down()
    rmSync(home, { recursive: true, force: true })
  }
}

// One measurement: the browser is already browsing when the gateway is spawned; both are stopped by PID after.
const once = async (ns: MulticastPair, bundle: string, token: string, home: string): Promise<number> => {
  const browser = lines(spawn(IP, ["netns", "exec", ns.client, PY, BROWSER, "60"], { stdio: ["ignore", "pipe", "pipe"] }))
  let gateway: ReturnType<typeof lines> | undefined
  try {
    await browser.waitFor((l) => l.includes("\"browsing\""), 20_000)
    const t0 = performance.now()
    gateway = lines(spawn(IP, ["netns", "exec", ns.gateway, process.execPath, bundle, "gateway", "run", "--bind", "custom", "--host", ns.gatewayIp, "--port", String(PORT), "--token", token], {
      env: { PATH: process.env.PATH ?? "", HOME: home, OPENCLAW_DISABLE_BONJOUR: "0", OPENCLAW_MDNS_HOSTNAME: "ghbench" },
      stdio: ["ignore", "pipe", "pipe"]
    }))
    await browser.waitFor((l) => {
      if (!l.startsWith("{")) return false
      const r = JSON.parse(l) as { event?: string; srv_port?: number; txt?: Record<string, string> }
      return r.event === "resolved" && r.srv_port === PORT && r.txt?.gatewayPort === String(PORT)
    }, 20_000)
    return performance.now() - t0
  } finally {
    await gateway?.stop()
    await browser.stop()
  }
}

// A child whose output lines can be waited on; `stop` sends SIGTERM by PID (SIGKILL after 5 s) and waits.
const lines = (child: ChildProcess) => {
  const seen: Array<string> = []
  const waiters = new Set<() => void>()
  let partial = ""
  let exited = false
  const onData = (d: Buffer) => {
    const parts = (partial + d.toString()).split("\n")
    partial = parts.pop() ?? ""
    seen.push(...parts)
    for (const w of [...waiters]) w()
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true
      for (const w of [...waiters]) w()
      resolve()
    })
  )
  const waitFor = (predicate: (line: string) => boolean, limitMs: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no matching line within ${limitMs} ms:\n${seen.slice(-5).join("\n")}`)), limitMs)
      const finish = (e?: Error) => {
        clearTimeout(timer)
        waiters.delete(check)
        if (e !== undefined) reject(e)
      }
      const check = () => {
        const hit = seen.find(predicate)
        if (hit !== undefined) {
          finish()
          resolve(hit)
        } else if (exited) finish(new Error(`exited before a matching line:\n${seen.slice(-5).join("\n")}`))
      }
      waiters.add(check)
      check()
    })
  const stop = async () => {
    if (exited) return
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
    await exit
    clearTimeout(timer)
  }
  return { waitFor, stop }
}
