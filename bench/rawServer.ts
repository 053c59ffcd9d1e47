// Baseline for the benchmark: a plain `ws` server speaking the same minimal protocol
// (challenge → connect → hello-ok → req/res) with no Effect, no auth, no schema.
import { createServer } from "node:http"
import { WebSocketServer } from "ws"

const server = createServer()
const wss = new WebSocketServer({ server, perMessageDeflate: false })
wss.on("connection", (ws) => {
  ws.send(JSON.stringify({ type: "event", event: "connect.challenge", payload: { nonce: "n", ts: 0 } }))
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data))
    const payload = frame.method === "connect" ? { type: "hello-ok", protocol: 4 } : null
    ws.send(JSON.stringify({ type: "res", id: frame.id, ok: true, payload }))
  })
})
server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  console.log(`listening on ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`)
})
