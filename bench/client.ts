// The benchmark's protocol client: a minimal OpenClaw Gateway protocol v4 client on `ws`,
// shared by every server under test (gatehouse, the raw baseline, an OpenClaw peer).
import { createHash, generateKeyPairSync, type KeyObject, randomUUID, sign } from "node:crypto"
import { WebSocket } from "ws"

export interface Identity {
  readonly id: string
  readonly publicKey: string
  readonly privateKey: KeyObject
}

/** A fresh Ed25519 device identity: id = hex sha256 of the raw public key. */
export const newIdentity = (): Identity => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519")
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32)
  return { id: createHash("sha256").update(raw).digest("hex"), publicKey: raw.toString("base64url"), privateKey }
}

export interface ConnectOptions {
  readonly token: string
  readonly role?: "operator" | "node"
  readonly scopes?: ReadonlyArray<string>
  readonly identity?: Identity
  readonly commands?: ReadonlyArray<string>
  readonly clientId?: string
  readonly mode?: string
  readonly onEvent?: (frame: { event: string; payload: any }, client: Client) => void
}

export interface Client {
  readonly ws: WebSocket
  readonly hello: any
  readonly call: (method: string, params?: unknown) => Promise<any>
  /** Sends a request without waiting for its answer. */
  readonly send: (method: string, params?: unknown) => void
  readonly close: () => Promise<void>
}

export const connect = (url: string, o: ConnectOptions) =>
  new Promise<Client>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    const waiting = new Map<string, { ok: (v: any) => void; ko: (e: Error) => void }>()
    let n = 0
    const role = o.role ?? "operator"
    const scopes = o.scopes ?? (role === "operator" ? ["operator.read"] : [])
    const clientId = o.clientId ?? (role === "node" ? "node-host" : "cli")
    const mode = o.mode ?? (role === "node" ? "node" : "cli")
    const send = (method: string, params: unknown = {}) => {
      ws.send(JSON.stringify({ type: "req", id: String(++n), method, params }))
    }
    const call = (method: string, params: unknown = {}) =>
      new Promise<any>((ok, ko) => {
        const id = String(++n)
        waiting.set(id, { ok, ko })
        ws.send(JSON.stringify({ type: "req", id, method, params }))
      })
    const close = () =>
      new Promise<void>((done) => {
        if (ws.readyState === ws.CLOSED) return done()
        ws.once("close", () => done())
        ws.close()
      })
    let client: Client | undefined
    ws.on("message", (data) => {
      const f = JSON.parse(String(data))
      if (f.type === "event" && f.event === "connect.challenge") {
        const { nonce, ts } = f.payload
        const device = o.identity === undefined ? undefined : (() => {
          const id = o.identity!
          const payload = ["v3", id.id, clientId, mode, role, scopes.join(","), String(ts), o.token, nonce, "linux", ""].join("|")
          const signature = sign(null, Buffer.from(payload, "utf8"), id.privateKey).toString("base64url")
          return { id: id.id, publicKey: id.publicKey, signature, signedAt: ts, nonce }
        })()
        call("connect", {
          minProtocol: 4,
          maxProtocol: 4,
          client: { id: clientId, version: "bench", platform: "linux", mode, instanceId: randomUUID() },
          caps: [],
          ...(o.commands === undefined ? {} : { commands: o.commands }),
          auth: { token: o.token },
          role,
          scopes,
          ...(device === undefined ? {} : { device })
        }).then((hello) => {
          client = { ws, hello, call, send, close }
          resolve(client)
        }, reject)
      } else if (f.type === "res") {
        const w = waiting.get(f.id)
        if (w === undefined) return
        waiting.delete(f.id)
        if (f.ok) w.ok(f.payload)
        else w.ko(new Error(`${f.error?.code}: ${f.error?.message}`))
      } else if (f.type === "event" && client !== undefined) {
        o.onEvent?.(f, client)
      }
    })
    ws.once("error", reject)
    ws.once("close", (code, reason) => {
      const e = new Error(`closed ${code} ${reason}`)
      for (const w of waiting.values()) w.ko(e)
      waiting.clear()
      reject(e)
    })
  })
