// Benchmark harness (not part of `npm test`): gatehouse (the bundle dist/gatehouse.mjs) against a raw
// `ws` baseline speaking the same frames with the same sizes (bench/rawServer.mjs), interleaved in one
// run, R repetitions, medians and ratios of medians. Optionally an OpenClaw gateway as a third column.
//   npm run bench -- [--reps 5] [--nodes 1000] [--rate 1000] [--seconds 5] [--peer openclaw] [--only nodes|mdns]
// Figures: (a) round trips/s of `last-heartbeat` and `health`, sequential and 16 in flight on one
// connection, with server CPU µs per operation (/proc/<pid>/stat utime+stime); (b) signed handshakes/s
// (challenge → Ed25519-signed connect → hello-ok → close); (c) N concurrent node connections: RSS per
// connection (after a forced GC) and node.invoke p50/p99 at a fixed rate spread over them (first repetition only);
// (d) start to listening, idle RSS, RSS after the load has gone (after a forced GC).
// Writes bench/results/latest.json. The machine may be shared: read ratios, not absolute numbers.
import { type ChildProcess, execSync, spawn, spawnSync } from "node:child_process"
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { connect as netConnect, createServer } from "node:net"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { parseArgs } from "node:util"
import { type Client, connect, type Identity, newIdentity } from "./client.ts"
import { mdnsResolveTimes } from "./mdns.ts"

const { values: opts } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    nodes: { type: "string", default: "1000" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "5" },
    seq: { type: "string", default: "3000" },
    conc: { type: "string", default: "8000" },
    handshakes: { type: "string", default: "100" },
    peer: { type: "string" },
    // --only nodes: just the node connections and node.invoke figures (for profiling that phase);
    // --only mdns: just the mDNS figure.
    only: { type: "string" }
  }
})
const reps = Number(opts.reps)
const nodeCount = Number(opts.nodes)
const rate = Number(opts.rate)
const seconds = Number(opts.seconds)
const seqCount = Number(opts.seq)
const concCount = Number(opts.conc)
const handshakeCount = Number(opts.handshakes)
const root = new URL("..", import.meta.url).pathname

// N node connections need N descriptors in this process and in the server (which inherits the limit):
// below that, re-run under a shell that raises the soft limit (up to the hard one), or say what is needed.
{
  const needed = nodeCount + 1024
  const [soft, hard] = fdLimits()
  if (soft < needed) {
    if (process.env.GATEHOUSE_BENCH_FD_RAISED === "1" || hard < needed) {
      process.stderr.write(
        `--nodes ${nodeCount} needs ${needed} open files per process; the limit here is ${soft} (hard ${hard}). ` +
          `Raise it (ulimit -n ${needed}, or LimitNOFILE / limits.conf for the hard limit) and run again.\n`
      )
      process.exit(2)
    }
    const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")
    const r = spawnSync("sh", ["-c", `ulimit -n ${needed} && exec ${argv}`], { stdio: "inherit", env: { ...process.env, GATEHOUSE_BENCH_FD_RAISED: "1" } })
    process.exit(r.status ?? 1)
  }
}
const token = "bench-token-5e9d0c2a"
const CLK_TCK = Number(execSync("getconf CLK_TCK").toString().trim()) || 100
// This process's open-file limits (soft, hard) from /proc; Infinity when unlimited or unreadable.
function fdLimits(): [number, number] {
  const line = existsSync("/proc/self/limits") ? readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files")) : undefined
  const [soft, hard] = (line?.trim().split(/\s+/).slice(3, 5) ?? []).map((v) => (v === "unlimited" ? Infinity : Number(v)))
  return [soft === undefined || Number.isNaN(soft) ? Infinity : soft, hard === undefined || Number.isNaN(hard) ? Infinity : hard]
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const log = (s: string) => process.stderr.write(`${s}\n`)

// ---------------------------------------------------------------------------------------------
// Processes

type Kind = "gatehouse" | "raw" | "openclaw"
interface Server {
  readonly kind: Kind
  readonly child: ChildProcess
  readonly pid: number
  readonly url: string
  readonly startMs: number
  /** performance.now() when the process was spawned (the gateway's ticks are every 30 s from about then). */
  readonly spawnedAt: number
  readonly home: string | undefined
}

// BENCH_GATEHOUSE_BUNDLE runs another build of gatehouse (an A/B against an older commit's bundle).
const gatehouseBundle = process.env.BENCH_GATEHOUSE_BUNDLE ?? join(root, "dist", "gatehouse.mjs")
const ensureBuilt = () => {
  if (process.env.BENCH_GATEHOUSE_BUNDLE !== undefined) return
  const bundle = gatehouseBundle
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs), 0)
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newest(join(root, "src"))) return
  log("dist/gatehouse.mjs is missing or older than src/: npm run build")
  const r = spawnSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] })
  if (r.status !== 0) throw new Error("npm run build failed")
}

// Both servers run with --expose-gc and a SIGUSR2 → gc() hook, so "RSS after the load" is measured after a full GC.
// BENCH_SERVER_NODE_ARGS adds flags for profiling (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof --trace-gc").
const gcHook = ["--expose-gc", "--import", join(root, "bench", "gcOnSignal.mjs"), ...(process.env.BENCH_SERVER_NODE_ARGS?.split(/\s+/).filter((a) => a !== "") ?? [])]

const startServer = (kind: "gatehouse" | "raw", env: Record<string, string> = {}) =>
  new Promise<Server>((resolve, reject) => {
    const home = kind === "gatehouse" ? mkdtempSync(join(tmpdir(), "gatehouse-bench-")) : undefined
    const args = kind === "gatehouse"
      ? [...gcHook, gatehouseBundle, "gateway", "run", "--port", "0", "--token", token]
      : [...gcHook, join(root, "bench", "rawServer.mjs")]
    const t0 = performance.now()
    const child = spawn(process.execPath, args, {
      cwd: root,
      // Never advertised: by default a gateway announces itself over mDNS on every LAN interface, and a bench
      // sends nothing past loopback (the mDNS figure runs its own gateway inside namespaces, bench/mdns.ts).
      env: { ...process.env, ...(home === undefined ? {} : { HOME: home }), BENCH_TOKEN: token, OPENCLAW_DISABLE_BONJOUR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    // The gc hook's "bench: gc done" lines, counted for forceGc (a line split across chunks is not expected: one write).
    child.stderr!.on("data", (d: Buffer) => {
      const done = d.toString().split("bench: gc done").length - 1
      if (done > 0) gcDone.set(child, (gcDone.get(child) ?? 0) + done)
    })
    const onData = (d: Buffer) => {
      out += d
      const m = out.match(/listening on (ws:\/\/[0-9.]+:\d+)/)
      if (m) {
        child.stdout!.off("data", onData)
        child.stderr!.off("data", onData)
        // BENCH_SERVER_LOG keeps the servers' output (e.g. --trace-gc lines) in that file; otherwise it is dropped.
        const keep = process.env.BENCH_SERVER_LOG
        if (keep !== undefined) {
          appendFileSync(keep, out)
          for (const stream of [child.stdout!, child.stderr!]) stream.on("data", (d: Buffer) => appendFileSync(keep, d))
        } else {
          child.stdout!.resume()
          child.stderr!.resume()
        }
        resolve({ kind, child, pid: child.pid!, url: m[1]!, startMs: performance.now() - t0, spawnedAt: t0, home })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("exit", (code) => reject(new Error(`${kind} exited ${code} before listening:\n${out}`)))
  })

const gcDone = new WeakMap<ChildProcess, number>()
// A full GC in our servers (SIGUSR2 → gc()), returning once it is over (up to 60 s); OpenClaw gets no signal.
const forceGc = async (s: Server) => {
  if (s.kind === "openclaw") return
  const before = gcDone.get(s.child) ?? 0
  s.child.kill("SIGUSR2")
  const t0 = performance.now()
  while ((gcDone.get(s.child) ?? 0) === before && performance.now() - t0 < 60_000) await sleep(20)
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

// The pinned peer: what the environment names, else the copy .ci/run installs, else one the bench installs.
const OPENCLAW_PACKAGE = "openclaw@2026.9.6"
const openClawEntry = (): string => {
  const named = process.env.OPENCLAW_ENTRY ?? process.env.OPENCLAW_BIN
  if (named !== undefined) {
    if (!existsSync(named)) throw new Error(`--peer openclaw: ${named} not found (OPENCLAW_ENTRY / OPENCLAW_BIN must name openclaw.mjs of ${OPENCLAW_PACKAGE})`)
    return named
  }
  const repo = new URL("..", import.meta.url).pathname
  const inPrefix = (prefix: string) => join(prefix, "node_modules", "openclaw", "openclaw.mjs")
  const ci = inPrefix(join(repo, ".tmp", "ci", "openclaw"))
  if (existsSync(ci)) return ci
  const prefix = join(repo, ".tmp", "bench", "openclaw")
  if (existsSync(inPrefix(prefix))) return inPrefix(prefix)
  log(`installing ${OPENCLAW_PACKAGE} into ${prefix} (once; takes a minute)…`)
  const npm = spawnSync("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", OPENCLAW_PACKAGE], { stdio: ["ignore", "inherit", "inherit"] })
  if (npm.status !== 0 || !existsSync(inPrefix(prefix))) throw new Error(`--peer openclaw: npm install ${OPENCLAW_PACKAGE} failed (exit ${npm.status}); install it yourself and set OPENCLAW_ENTRY to its openclaw.mjs`)
  return inPrefix(prefix)
}

/** OpenClaw 2026.9.6 on loopback with token auth, in its own HOME/TMPDIR (see shared/spec/openclaw-2026.9.6-observed.md). */
const startOpenClaw = async (): Promise<Server> => {
  const entry = openClawEntry()
  const home = mkdtempSync(join(tmpdir(), "gatehouse-bench-openclaw-"))
  mkdirSync(join(home, "tmp"))
  const port = await freePort()
  const t0 = performance.now()
  const child = spawn(process.execPath, [entry, "gateway", "run", "--port", String(port), "--bind", "loopback", "--auth", "token", "--token", token, "--allow-unconfigured"], {
    cwd: home,
    env: { ...process.env, HOME: home, TMPDIR: join(home, "tmp"), NODE_OPTIONS: "", OPENCLAW_DISABLE_BONJOUR: "1" },
    stdio: ["ignore", "ignore", "ignore"]
  })
  const url = `ws://127.0.0.1:${port}`
  const deadline = t0 + 90_000
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`openclaw exited ${child.exitCode} before listening`)
    const up = await new Promise<boolean>((r) => {
      const sock = netConnect(port, "127.0.0.1")
      sock.once("connect", () => (sock.destroy(), r(true)))
      sock.once("error", () => r(false))
    })
    if (up) return { kind: "openclaw", child, pid: child.pid!, url, startMs: performance.now() - t0, spawnedAt: t0, home }
    await sleep(100)
  }
  throw new Error("openclaw did not listen within 90 s")
}

const stopServer = async (s: Server) => {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    const exited = new Promise((r) => s.child.once("exit", r))
    s.child.kill("SIGTERM")
    const timer = setTimeout(() => s.child.kill("SIGKILL"), 10_000)
    await exited
    clearTimeout(timer)
  }
  if (s.home !== undefined) rmSync(s.home, { recursive: true, force: true })
}

const cpuUs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return ((Number(fields[11]) + Number(fields[12])) / CLK_TCK) * 1e6
}
const rssKiB = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)![1])

// ---------------------------------------------------------------------------------------------
// Workloads

// Warm-up before each timed figure, in the figure's own shape, the same for every server: up to this many calls
// or this long, whichever ends first. A long-lived gateway answers with optimized code; with 1000 sequential
// calls a fresh gatehouse was still being optimized (~20–25 µs per last-heartbeat ×16 against ~8 µs warm).
const WARMUP_CALLS = 10_000
const WARMUP_MS = 2_000

const roundTrips = async (s: Server, method: string, inflight: number, count: number) => {
  const c = await connect(s.url, { token })
  const run = async (calls: number, untilMs: number) => {
    let issued = 0
    const worker = async () => {
      while (issued < calls && performance.now() < untilMs) {
        issued++
        await c.call(method)
      }
    }
    await Promise.all(Array.from({ length: inflight }, worker))
  }
  await run(WARMUP_CALLS, performance.now() + WARMUP_MS)
  const cpu0 = cpuUs(s.pid)
  const t0 = performance.now()
  await run(count, Infinity)
  const elapsed = (performance.now() - t0) / 1000
  const cpu = cpuUs(s.pid) - cpu0
  await c.close()
  return { perSec: count / elapsed, cpuUsPerOp: cpu / count }
}

const HANDSHAKE_WARMUP = 50
const handshakes = async (s: Server, identity: Identity, count: number) => {
  const once = async () => (await connect(s.url, { token, identity, scopes: ["operator.read"] })).close()
  // The first one pairs the device (auto-approved on loopback); the rest warm the path up, the same for every
  // server: a long-lived gateway's handshakes run compiled code, and 5 left the JIT's warm-up in the figure.
  for (let i = 0; i < HANDSHAKE_WARMUP; i++) await once()
  const cpu0 = cpuUs(s.pid)
  const t0 = performance.now()
  for (let i = 0; i < count; i++) await once()
  const elapsed = (performance.now() - t0) / 1000
  return { perSec: count / elapsed, cpuUsPerOp: (cpuUs(s.pid) - cpu0) / count }
}

const quantile = (xs: Array<number>, q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

const nodesLoad = async (s: Server) => {
  // Both ends of "RSS per connection" after a full GC: the previous phase's garbage is not the connections'.
  await forceGc(s)
  await sleep(500)
  const rss0 = rssKiB(s.pid)
  // The nodes live in a process of their own (bench/nodes.ts): this one only times the invokes.
  const host = spawn(process.execPath, [...process.execArgv, join(root, "bench", "nodes.ts"), s.url, token, String(nodeCount)], { stdio: ["pipe", "pipe", "inherit"] })
  const ready = await new Promise<{ ids: Array<string>; connectSec: number }>((resolve, reject) => {
    let out = ""
    host.stdout!.on("data", (d: Buffer) => {
      out += d
      const line = out.split("\n").find((l) => l.startsWith("{"))
      if (line !== undefined && out.includes("\n")) resolve(JSON.parse(line))
    })
    host.once("exit", (code) => reject(new Error(`bench/nodes.ts exited ${code} before its nodes were connected`)))
  })
  const identities = ready.ids.map((id) => ({ id }))
  const connectSec = ready.connectSec
  // The connect storm leaves work behind (pairing writes, logs, garbage): wait until the server is quiet.
  const settleStormMs = await settle(s)
  // What the connections hold, not the garbage left by connecting them: a full GC first (our servers' hook).
  await forceGc(s)
  await sleep(500)
  const rssPerConnKiB = (rssKiB(s.pid) - rss0) / identities.length
  // Four operator connections share the load: gatehouse caps one caller at 64 invokes in flight.
  const ops = await Promise.all(Array.from({ length: 4 }, () => connect(s.url, { token, scopes: ["operator.read", "operator.write"] })))
  // A short warm-up (JIT), then quiet again and a full GC, so the figure is the steady state, not the storm's aftermath.
  await invokeAtRate(ops, identities, Math.min(500, rate), "w")
  await settle(s)
  await forceGc(s)
  await sleep(500)
  const cpu0 = cpuUs(s.pid)
  const phaseAt = performance.now() - s.spawnedAt
  const measured = await invokeAtRate(ops, identities, rate * seconds, "k")
  const cpuUsPerInvoke = (cpuUs(s.pid) - cpu0) / (rate * seconds)
  await Promise.all(ops.map((op) => op.close()))
  const hostExited = new Promise((r) => host.once("exit", r))
  host.stdin!.end()
  await hostExited
  const latencies = measured.samples.map((x) => x.ms)
  // Where the slowest calls fell (ms from the start of the phase): a cluster points at one pause (GC, a broadcast).
  const slowest = [...measured.samples].sort((a, b) => b.ms - a.ms).slice(0, 5).map((x) => `${x.ms.toFixed(1)}ms@${x.at.toFixed(0)}`)
  log(`${s.kind}: node.invoke slowest ${slowest.join(" ")}; storm settled in ${settleStormMs.toFixed(0)} ms; phase began ${phaseAt.toFixed(0)} ms after spawn`)
  return {
    connectSec,
    rssPerConnKiB,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: quantile(latencies, 1),
    cpuUsPerInvoke,
    errors: measured.errors
  }
}

// Sends `total` node.invoke calls at `rate`/s, spread over the nodes and the operator connections.
const invokeAtRate = async (ops: ReadonlyArray<Client>, identities: ReadonlyArray<{ readonly id: string }>, total: number, keyPrefix: string) => {
  const samples: Array<{ at: number; ms: number }> = []
  let errors = 0
  let firstError: string | undefined
  let sent = 0
  const pending: Array<Promise<void>> = []
  const start = performance.now()
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate))
      while (sent < due) {
        const nodeId = identities[sent % identities.length]!.id
        const t = performance.now()
        pending.push(ops[sent % ops.length]!.call("node.invoke", { nodeId, command: "system.which", params: { bins: ["sh"] }, idempotencyKey: `${keyPrefix}${sent}`, timeoutMs: 10_000 }).then(
          () => void samples.push({ at: t - start, ms: performance.now() - t }),
          (e: Error) => {
            errors++
            firstError ??= e.message
          }
        ))
        sent++
      }
      if (sent >= total) done()
      else setTimeout(tick, 2)
    }
    tick()
  })
  await Promise.all(pending)
  if (firstError !== undefined) log(`node.invoke: ${errors} errors, the first: ${firstError}`)
  return { samples, errors }
}

// Waits (up to 30 s) until the server used under 5% of a CPU over half a second; returns the time waited.
const settle = async (s: Server) => {
  const t0 = performance.now()
  while (performance.now() - t0 < 30_000) {
    const before = cpuUs(s.pid)
    await sleep(500)
    if (cpuUs(s.pid) - before < 25_000) break
  }
  return performance.now() - t0
}

const afterLoadRss = async (s: Server) => {
  await sleep(500)
  // Only our servers run the gc hook; OpenClaw gets no signal (it has its own meaning for SIGUSR signals).
  await forceGc(s)
  await sleep(1000)
  return rssKiB(s.pid) / 1024
}

// ---------------------------------------------------------------------------------------------
// Run

type Sample = Record<string, number>
const samples: Record<Kind, Array<Sample>> = { gatehouse: [], raw: [], openclaw: [] }
const load0 = loadavg()
const began = performance.now()

ensureBuilt()

// Record gatehouse's frames once so the baseline answers with the same sizes.
const framesDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-frames-"))
const framesFile = join(framesDir, "frames.json")
{
  const g = await startServer("gatehouse")
  const c = await connect(g.url, { token })
  const frames = { hello: c.hello, health: await c.call("health"), lastHeartbeat: await c.call("last-heartbeat") }
  await c.close()
  await stopServer(g)
  writeFileSync(framesFile, JSON.stringify(frames))
  log(`recorded frames: hello-ok ${JSON.stringify(frames.hello).length} B, health ${JSON.stringify(frames.health).length} B`)
}

let openclaw: Server | undefined
if (opts.peer === "openclaw") {
  log("starting OpenClaw (takes ~15 s)…")
  openclaw = await startOpenClaw()
  await sleep(3000)
  samples.openclaw.push({ startMs: openclaw.startMs, idleMiB: rssKiB(openclaw.pid) / 1024 })
} else if (opts.peer !== undefined) throw new Error(`unknown peer ${opts.peer} (only openclaw)`)

const workloadA = async (s: Server, sample: Sample) => {
  for (const method of ["last-heartbeat", "health"]) {
    const seq = await roundTrips(s, method, 1, seqCount)
    const conc = await roundTrips(s, method, 16, concCount)
    sample[`${method}.seq.perSec`] = seq.perSec
    sample[`${method}.seq.cpuUs`] = seq.cpuUsPerOp
    sample[`${method}.c16.perSec`] = conc.perSec
    sample[`${method}.c16.cpuUs`] = conc.cpuUsPerOp
  }
  const hs = await handshakes(s, newIdentity(), handshakeCount)
  sample["handshake.perSec"] = hs.perSec
  sample["handshake.cpuUs"] = hs.cpuUsPerOp
}

for (let rep = 0; rep < (opts.only === "mdns" ? 0 : reps); rep++) {
  const order: Array<"gatehouse" | "raw"> = rep % 2 === 0 ? ["gatehouse", "raw"] : ["raw", "gatehouse"]
  for (const kind of order) {
    const s = await startServer(kind, { BENCH_FRAMES: framesFile })
    try {
      await sleep(1000)
      const sample: Sample = { startMs: s.startMs, idleMiB: rssKiB(s.pid) / 1024 }
      if (opts.only !== "nodes") await workloadA(s, sample)
      if (rep === 0) {
        const n = await nodesLoad(s)
        sample["nodes.connectSec"] = n.connectSec
        sample["nodes.rssPerConnKiB"] = n.rssPerConnKiB
        sample["invoke.p50Ms"] = n.p50
        sample["invoke.p99Ms"] = n.p99
        sample["invoke.maxMs"] = n.max
        sample["invoke.cpuUs"] = n.cpuUsPerInvoke
        sample["invoke.errors"] = n.errors
      }
      sample.afterMiB = await afterLoadRss(s)
      sample.afterOverIdle = sample.afterMiB / sample.idleMiB!
      samples[kind].push(sample)
      log(`rep ${rep + 1}/${reps} ${kind}: ${Object.entries(sample).map(([k, v]) => `${k}=${v.toFixed(1)}`).join(" ")}`)
    } finally {
      await stopServer(s)
    }
  }
  if (openclaw !== undefined) {
    const sample: Sample = {}
    await workloadA(openclaw, sample)
    samples.openclaw.push(sample)
    log(`rep ${rep + 1}/${reps} openclaw: ${Object.entries(sample).map(([k, v]) => `${k}=${v.toFixed(1)}`).join(" ")}`)
  }
}
if (openclaw !== undefined) {
  samples.openclaw[0]!.afterMiB = await afterLoadRss(openclaw)
  await stopServer(openclaw)
}
rmSync(framesDir, { recursive: true, force: true })

// (e) mDNS: gateway start → resolved by a browser in another network namespace (root, ip netns, python3-zeroconf).
const mdns = opts.only === "nodes" ? { reason: "not run (--only nodes)" } : await mdnsResolveTimes(gatehouseBundle, token, reps)
if ("ms" in mdns) {
  for (const [i, ms] of mdns.ms.entries()) (samples.gatehouse[i] ??= {})["mdns.resolveMs"] = ms
  log(`mDNS start → resolved (ms): ${mdns.ms.map((x) => x.toFixed(0)).join(" ")}`)
} else log(`mDNS figure: ${mdns.reason}`)

// ---------------------------------------------------------------------------------------------
// Report

const median = (kind: Kind, key: string) => {
  const xs = samples[kind].map((s) => s[key]).filter((x): x is number => typeof x === "number" && !Number.isNaN(x))
  return xs.length === 0 ? undefined : medianOf(xs)
}
const medianOf = (xs: Array<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

interface Row {
  readonly figure: string
  readonly key: string
  readonly gatehouse: number | undefined
  readonly baseline: number | undefined
  readonly ratio: number | undefined
  readonly openclaw: number | undefined
  readonly target: string
  readonly met: boolean | undefined
  /** Why there is no figure, when there is none. */
  readonly note?: string
}
const rows: Array<Row> = []
const row = (figure: string, key: string, target = "", check?: (g: number, b: number, o: number | undefined) => boolean | undefined) => {
  const g = median("gatehouse", key)
  const b = median("raw", key)
  const o = openclaw === undefined ? undefined : median("openclaw", key)
  const ratio = g !== undefined && b !== undefined && b !== 0 ? g / b : undefined
  rows.push({ figure, key, gatehouse: g, baseline: b, ratio, openclaw: o, target, met: check && g !== undefined && b !== undefined ? check(g, b, o) : undefined })
}
const vsOpenclaw = (g: number, o: number | undefined) => (o === undefined ? undefined : g >= 10 * o)
row("last-heartbeat seq (req/s)", "last-heartbeat.seq.perSec", "≥ 0.85× raw", (g, b) => g >= 0.85 * b)
row("  server CPU µs/req", "last-heartbeat.seq.cpuUs")
row("last-heartbeat ×16 (req/s)", "last-heartbeat.c16.perSec", "≥ 0.85× raw", (g, b) => g >= 0.85 * b)
row("  server CPU µs/req", "last-heartbeat.c16.cpuUs")
row("health seq (req/s)", "health.seq.perSec", "≥ 10× OpenClaw", (g, _b, o) => vsOpenclaw(g, o))
row("  server CPU µs/req", "health.seq.cpuUs")
row("health ×16 (req/s)", "health.c16.perSec", "≥ 10× OpenClaw", (g, _b, o) => vsOpenclaw(g, o))
row("  server CPU µs/req", "health.c16.cpuUs")
row("signed handshakes/s", "handshake.perSec", "≥ 0.8× raw", (g, b) => g >= 0.8 * b)
row("  server CPU µs/handshake", "handshake.cpuUs")
row("start → listening (ms)", "startMs", "≤ 2× raw", (g, b) => g <= 2 * b)
row("idle RSS (MiB)", "idleMiB", "≤ 70 MiB", (g) => g <= 70)
row("RSS after load, after GC (MiB)", "afterMiB")
row("  after ÷ idle", "afterOverIdle", "≤ 1.3", (g) => g <= 1.3)
row(`${nodeCount} nodes: connect all (s)`, "nodes.connectSec")
row(`${nodeCount} nodes: RSS per connection (KiB)`, "nodes.rssPerConnKiB", nodeCount >= 10_000 ? "10k within 1 GB" : "", (g) => (g * 10_000) / 1024 <= 1024)
row(`node.invoke p50 @${rate}/s (ms)`, "invoke.p50Ms")
row(`node.invoke p99 @${rate}/s (ms)`, "invoke.p99Ms", "≤ 10 ms (at 1k/s)", (g) => g <= 10)
row(`node.invoke max @${rate}/s (ms)`, "invoke.maxMs")
row("  server CPU µs/invoke", "invoke.cpuUs")
row("node.invoke errors", "invoke.errors")
row("mDNS: start → resolved in another netns (ms)", "mdns.resolveMs")
if ("reason" in mdns) rows[rows.length - 1] = { ...rows[rows.length - 1]!, note: mdns.reason }

const fmt = (x: number | undefined) => (x === undefined ? "–" : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2))
const header = ["figure", "gatehouse", "raw ws", "ratio", ...(openclaw === undefined ? [] : ["OpenClaw"]), "target"]
const table = [
  `| ${header.join(" | ")} |`,
  `|${header.map((_, i) => (i === 0 || i === header.length - 1 ? "---" : "---:")).join("|")}|`,
  ...rows.map((r) =>
    `| ${[
      r.figure.trim().startsWith("server") || r.figure.startsWith("  ") ? `↳ ${r.figure.trim()}` : r.figure,
      r.gatehouse === undefined && r.note !== undefined ? `– (${r.note})` : fmt(r.gatehouse),
      fmt(r.baseline),
      r.ratio === undefined ? "–" : `${r.ratio.toFixed(2)}×`,
      ...(openclaw === undefined ? [] : [fmt(r.openclaw)]),
      r.target === "" ? "" : `${r.target}${r.met === undefined ? "" : r.met ? " ✓" : " ✗"}`
    ].join(" | ")} |`
  )
]
const load1 = loadavg()
const summary = `${reps} interleaved repetitions, medians; node ${process.version}, ${cpus().length} CPUs, ` +
  `load average ${load0[0]!.toFixed(2)} → ${load1[0]!.toFixed(2)}; ${seqCount} sequential / ${concCount} with 16 in flight per figure, ` +
  `${handshakeCount} handshakes, ${nodeCount} nodes and ${rate}/s invokes for ${seconds} s (first repetition); ${((performance.now() - began) / 1000).toFixed(0)} s`
console.log(table.join("\n"))
console.log(`\n${summary}`)

const resultsDir = join(root, "bench", "results")
mkdirSync(resultsDir, { recursive: true })
writeFileSync(
  join(resultsDir, "latest.json"),
  JSON.stringify({
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
    node: process.version,
    cpus: cpus().length,
    loadavg: { start: load0, end: load1 },
    options: { reps, nodes: nodeCount, rate, seconds, seq: seqCount, conc: concCount, handshakes: handshakeCount, peer: opts.peer ?? null },
    rows,
    samples,
    mdns
  }, null, 2) + "\n"
)
log(`wrote bench/results/latest.json`)
