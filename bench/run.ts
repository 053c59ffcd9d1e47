// Benchmark harness: gatehouse against a raw `ws` baseline run in the same process tree.
// Measures start-up to listening, idle RSS, sequential request round trips and
// connect+handshake cycles, and prints each as a ratio to the baseline.
//   node bench/run.ts [requests=3000] [connects=200]
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { WebSocket } from "ws"

const requests = Number(process.argv[2] ?? 3000)
const connects = Number(process.argv[3] ?? 200)
const root = new URL("..", import.meta.url).pathname
const token = "bench-token-5e9d0c2a"

interface Started {
  readonly child: ChildProcess
  readonly url: string
  readonly startMs: number
}

const start = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<Started>((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    const onData = (d: Buffer) => {
      out += d
      const m = out.match(/listening on (ws:\/\/[0-9.]+:\d+)/)
      if (m) resolve({ child, url: m[1]!, startMs: performance.now() - t0 })
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("exit", (code) => reject(new Error(`exited ${code} before listening:\n${out}`)))
  })

const rssMiB = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)![1]) / 1024

const connect = (url: string) =>
  new Promise<{ ws: WebSocket; call: (method: string) => Promise<void> }>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    const waiting = new Map<string, () => void>()
    let n = 0
    const call = (method: string, params: unknown = {}) =>
      new Promise<void>((done) => {
        const id = String(++n)
        waiting.set(id, done)
        ws.send(JSON.stringify({ type: "req", id, method, params }))
      })
    ws.on("message", (data) => {
      const f = JSON.parse(String(data))
      if (f.event === "connect.challenge") {
        call("connect", {
          minProtocol: 4,
          maxProtocol: 4,
          client: { id: "cli", version: "bench", platform: "linux", mode: "cli" },
          auth: { token },
          scopes: ["operator.read"]
        }).then(() => resolve({ ws, call: (m) => call(m) }))
      } else if (f.type === "res") {
        waiting.get(f.id)?.()
        waiting.delete(f.id)
      }
    })
    ws.once("error", reject)
  })

const measure = async (url: string) => {
  const { call, ws } = await connect(url)
  for (let i = 0; i < 200; i++) await call("last-heartbeat")
  const t0 = performance.now()
  for (let i = 0; i < requests; i++) await call("last-heartbeat")
  const seqPerSec = requests / ((performance.now() - t0) / 1000)
  ws.close()
  const t1 = performance.now()
  for (let i = 0; i < connects; i++) {
    const c = await connect(url)
    c.ws.close()
  }
  return { seqPerSec, connectMs: (performance.now() - t1) / connects }
}

const home = mkdtempSync(join(tmpdir(), "gatehouse-bench-"))
const rows: Array<[string, number, number, string]> = []
const gatehouse = await start(["bin/gatehouse", "gateway", "run", "--port", "0", "--token", token], { HOME: home })
const raw = await start(["bench/rawServer.ts"], {})
await new Promise((r) => setTimeout(r, 1000))
rows.push(["start → listening (ms)", gatehouse.startMs, raw.startMs, "lower is better"])
rows.push(["idle RSS (MiB)", rssMiB(gatehouse.child.pid!), rssMiB(raw.child.pid!), "lower is better"])
const g = await measure(gatehouse.url)
const r = await measure(raw.url)
rows.push(["sequential requests/s", g.seqPerSec, r.seqPerSec, "higher is better"])
rows.push(["connect + handshake (ms each)", g.connectMs, r.connectMs, "lower is better"])
gatehouse.child.kill("SIGTERM")
raw.child.kill("SIGTERM")
// The gateway's home holds its token and keys.
if (gatehouse.child.exitCode === null && gatehouse.child.signalCode === null) await new Promise((r) => gatehouse.child.once("exit", r))
rmSync(home, { recursive: true, force: true })

console.log(`gatehouse vs raw ws (${requests} requests, ${connects} connects, node ${process.version})`)
console.log("metric".padEnd(32) + "gatehouse".padStart(12) + "raw ws".padStart(12) + "ratio".padStart(9))
for (const [name, a, b, note] of rows) {
  console.log(name.padEnd(32) + a.toFixed(1).padStart(12) + b.toFixed(1).padStart(12) + `${(a / b).toFixed(2)}×`.padStart(9) + `  ${note}`)
}
