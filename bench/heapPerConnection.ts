// What one idle node connection keeps alive (not part of `npm test`): starts a bundle on loopback (its own
// HOME, no mDNS), reads its heap and RSS after a full GC, connects N nodes (bench/nodes.ts, in a process
// of its own), reads them again, and prints one JSON line of KiB per connection. Compare two builds A/B,
// interleaved and repeated (a copy of dist/ before the change against dist/ after it):
//   node bench/heapPerConnection.ts [--bundle dist/gatehouse.mjs] [--nodes 2000] [--snapshots DIR]
// --snapshots writes a heap snapshot before and after the nodes connect (for comparing by constructor and
// retainer); BENCH_SERVER_NODE_ARGS adds server flags (e.g. "--trace-gc": its lines go to stderr).
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"

const { values: opts } = parseArgs({
  options: { bundle: { type: "string", default: "dist/gatehouse.mjs" }, nodes: { type: "string", default: "2000" }, snapshots: { type: "string" } }
})
const root = new URL("..", import.meta.url).pathname
const token = "heap-per-connection-token-0123456789"
const count = Number(opts.nodes)
const home = mkdtempSync(join(tmpdir(), "gatehouse-heap-"))
if (opts.snapshots !== undefined) mkdirSync(opts.snapshots, { recursive: true })
const args = [
  "--expose-gc",
  "--import",
  join(root, "bench", "heapOnSignal.mjs"),
  ...(opts.snapshots === undefined ? [] : ["--heapsnapshot-signal=SIGUSR1", `--diagnostic-dir=${resolve(opts.snapshots)}`]),
  ...(process.env.BENCH_SERVER_NODE_ARGS?.split(/\s+/).filter((a) => a !== "") ?? []),
  resolve(opts.bundle),
  "gateway",
  "run",
  "--port",
  "0",
  "--token",
  token
]
const server = spawn(process.execPath, args, { cwd: root, env: { ...process.env, HOME: home, OPENCLAW_DISABLE_BONJOUR: "1" }, stdio: ["ignore", "pipe", "pipe"] })
let out = ""
const wake: Array<() => void> = []
const onData = (d: Buffer) => {
  out += d
  if (process.env.BENCH_SERVER_NODE_ARGS !== undefined) process.stderr.write(d)
  for (const w of wake.splice(0)) w()
}
server.stdout!.on("data", onData)
server.stderr!.on("data", onData)
server.once("exit", (code) => {
  process.stderr.write(`server exited ${code}\n`)
  process.exit(1)
})
const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
  for (;;) {
    const m = out.match(pattern)
    if (m !== null) return m
    await new Promise<void>((r) => wake.push(r))
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const memory = async (): Promise<{ rss: number; heapUsed: number }> => {
  out = ""
  server.kill("SIGUSR2")
  return JSON.parse((await waitFor(/bench: heap (\{.*\})/))[1]!)
}
// A snapshot pauses the server for seconds: wait for its file before going on.
const snapshot = async () => {
  if (opts.snapshots === undefined) return
  server.kill("SIGUSR1")
  await sleep(count * 10 + 3000)
}

const url = (await waitFor(/listening on (ws:\/\/[0-9.]+:\d+)/))[1]!
await sleep(1500)
const before = await memory()
await snapshot()
const host = spawn(process.execPath, [join(root, "bench", "nodes.ts"), url, token, String(count)], { cwd: root, stdio: ["pipe", "pipe", "inherit"] })
await new Promise<void>((r) => host.stdout!.on("data", (d: Buffer) => String(d).includes("connectSec") && r()))
await sleep(2000)
const after = await memory()
await snapshot()
const perConnection = (key: "rss" | "heapUsed") => Number(((after[key] - before[key]) / count / 1024).toFixed(2))
process.stdout.write(`${JSON.stringify({ bundle: opts.bundle, nodes: count, heapKiB: perConnection("heapUsed"), rssKiB: perConnection("rss") })}\n`)
host.stdin!.end()
await new Promise((r) => host.once("exit", r))
server.removeAllListeners("exit")
server.kill("SIGTERM")
await new Promise((r) => server.once("exit", r))
rmSync(home, { recursive: true, force: true })
