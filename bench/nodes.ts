// The benchmark's node connections, in a process of their own: N nodes with fresh Ed25519 identities
// connect (32 at a time) and answer every node.invoke.request at once. Kept apart from the process that
// times the invokes, so that its GC pauses (10k sockets, 10k keys) do not count as the server's latency.
//   node bench/nodes.ts <ws url> <token> <count>
// Prints one JSON line {"ids":[...],"connectSec":s} when all are connected; closes them all and exits
// when its stdin ends (the harness going away ends it too).
import { type Client, connect, newIdentity } from "./client.ts"

const [url, token, count] = process.argv.slice(2)
if (url === undefined || token === undefined || count === undefined) {
  process.stderr.write("usage: node bench/nodes.ts <ws url> <token> <count>\n")
  process.exit(2)
}
const identities = Array.from({ length: Number(count) }, newIdentity)
const nodes: Array<Client> = []
const onEvent = (f: { event: string; payload: any }, c: Client) => {
  if (f.event !== "node.invoke.request") return
  c.send("node.invoke.result", { id: f.payload.id, nodeId: f.payload.nodeId, ok: true, payloadJSON: "{\"path\":\"/bin/sh\"}" })
}
const t0 = performance.now()
let next = 0
const opener = async () => {
  while (next < identities.length) {
    const identity = identities[next++]!
    nodes.push(await connect(url, { token, role: "node", identity, commands: ["system.which"], onEvent }))
  }
}
await Promise.all(Array.from({ length: 32 }, opener))
process.stdout.write(`${JSON.stringify({ ids: identities.map((i) => i.id), connectSec: (performance.now() - t0) / 1000 })}\n`)
process.stdin.resume()
process.stdin.once("end", async () => {
  await Promise.all(nodes.map((n) => n.close()))
  process.exit(0)
})
