// Baseline for the benchmark: a plain `ws` server speaking the same frames as gatehouse
// (challenge → connect → hello-ok → req/res, node.invoke relayed to a node) with the same
// sizes, and nothing else: no Effect, no schema, no pairing, no store. It does verify the
// connect's Ed25519 device signature (the v3 payload), so handshakes compare like for like.
//   BENCH_FRAMES=<json with hello, health, lastHeartbeat payloads recorded from gatehouse> node bench/rawServer.mjs
// Plain JavaScript on purpose: a .ts entry would make Node load its type stripper, which costs the
// floor ~20 MiB and ~0.2 s of start-up that gatehouse's bundle does not pay.
import { createHash, createPublicKey, randomUUID, verify } from "node:crypto"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import { WebSocketServer } from "ws"

const recorded = process.env.BENCH_FRAMES
  ? JSON.parse(readFileSync(process.env.BENCH_FRAMES, "utf8"))
  : { hello: { type: "hello-ok", protocol: 4 }, health: { ok: true }, lastHeartbeat: null }
const token = process.env.BENCH_TOKEN ?? ""
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex")

const nodes = new Map()
const invokes = new Map()

const res = (ws, id, ok, payload) =>
  ws.send(JSON.stringify(ok ? { type: "res", id, ok, payload } : { type: "res", id, ok, error: payload }))

const verifyDevice = (p, nonce) => {
  const d = p.device
  if (d === undefined) return true
  const raw = Buffer.from(String(d.publicKey), "base64url")
  if (raw.length !== 32 || createHash("sha256").update(raw).digest("hex") !== d.id || d.nonce !== nonce) return false
  const payload = ["v3", d.id, p.client.id, p.client.mode, p.role ?? "operator", (p.scopes ?? []).join(","), String(d.signedAt),
    p.auth?.token ?? "", d.nonce, String(p.client.platform ?? "").toLowerCase(), String(p.client.deviceFamily ?? "").toLowerCase()].join("|")
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" })
  return verify(null, Buffer.from(payload, "utf8"), key, Buffer.from(String(d.signature), "base64url"))
}

const server = createServer()
const wss = new WebSocketServer({ server, perMessageDeflate: false })
wss.on("connection", (ws) => {
  const nonce = randomUUID()
  let nodeId
  let connected = false
  ws.send(JSON.stringify({ type: "event", event: "connect.challenge", payload: { nonce, ts: Date.now(), capabilities: [] } }))
  ws.on("message", (data) => {
    const f = JSON.parse(String(data))
    if (!connected) {
      const p = f.params ?? {}
      if (f.method !== "connect" || p.auth?.token !== token || !verifyDevice(p, nonce)) {
        res(ws, f.id, false, { code: "INVALID_REQUEST", message: "unauthorized" })
        return ws.close(1008, "unauthorized")
      }
      connected = true
      if (p.role === "node") {
        nodeId = p.device?.id ?? p.client.id
        nodes.set(nodeId, ws)
      }
      return res(ws, f.id, true, { ...recorded.hello, server: { ...recorded.hello.server, connId: randomUUID() } })
    }
    switch (f.method) {
      case "last-heartbeat":
        return res(ws, f.id, true, recorded.lastHeartbeat)
      case "health":
        return res(ws, f.id, true, recorded.health)
      case "node.invoke": {
        const p = f.params
        const node = nodes.get(p.nodeId)
        if (node === undefined) return res(ws, f.id, false, { code: "UNAVAILABLE", message: "node not connected" })
        const id = randomUUID()
        invokes.set(id, { ws, id: f.id, nodeId: p.nodeId })
        return node.send(JSON.stringify({
          type: "event",
          event: "node.invoke.request",
          payload: { id, nodeId: p.nodeId, command: p.command, paramsJSON: p.params === undefined ? null : JSON.stringify(p.params), timeoutMs: p.timeoutMs ?? 30000, idempotencyKey: p.idempotencyKey }
        }))
      }
      case "node.invoke.result": {
        const p = f.params
        const pending = invokes.get(p.id)
        invokes.delete(p.id)
        if (pending !== undefined) {
          res(pending.ws, pending.id, true, { ok: true, nodeId: p.nodeId, payload: p.payloadJSON ? JSON.parse(p.payloadJSON) : p.payload ?? null, payloadJSON: p.payloadJSON ?? null })
        }
        return res(ws, f.id, true, pending === undefined ? { ok: true, ignored: true } : { ok: true })
      }
      default:
        return res(ws, f.id, true, null)
    }
  })
  ws.on("close", () => {
    if (nodeId !== undefined && nodes.get(nodeId) === ws) nodes.delete(nodeId)
  })
})
server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  console.log(`listening on ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`)
})
