// The gateway connection, as OpenClaw's Control UI makes it: a WebSocket to the
// page's own origin, `connect.challenge` → `connect` signed with the browser's
// device key (client `openclaw-control-ui`, mode `webchat`, role operator). It
// presents the stored device token when it has one, else the gateway token the
// user typed or passed as `#token=` (kept in memory only), and keeps the device
// token `hello-ok` returns after the owner approves this browser.
import { loadDeviceToken, loadOrCreateIdentity, saveDeviceToken, signText } from "./identity.js"

/** What the Control UI asks for; the gateway grants what the owner approves. */
export const SCOPES = ["operator.admin", "operator.read", "operator.write", "operator.approvals", "operator.pairing"]
const CLIENT = { id: "openclaw-control-ui", version: "gatehouse-ui/0.1.0", platform: "web", deviceFamily: "browser", mode: "webchat" }
const REQUEST_TIMEOUT_MS = 35_000

const normalize = (v) => (v ?? "").trim().replace(/[A-Z]/g, (c) => c.toLowerCase())

/** The v3 string a device signs (see src/protocol/deviceAuth.ts). */
export const payloadV3 = (f) =>
  ["v3", f.deviceId, f.clientId, f.clientMode, f.role, f.scopes.join(","), String(f.signedAtMs), f.token, f.nonce, normalize(f.platform), normalize(f.deviceFamily)].join("|")

export class Gateway extends EventTarget {
  constructor(url) {
    super()
    this.url = url
    this.ws = undefined
    this.pending = new Map()
    this.nextId = 1
    this.sharedToken = ""
    this.hello = undefined
    this.state = "idle"
    this.stopped = false
    this.retryMs = 1000
    this.timer = undefined
  }

  /** Sets the gateway token for the next connect (memory only). */
  setToken(token) {
    this.sharedToken = token
  }

  /** Emits a state change: {state, detail}. */
  setState(state, detail = "") {
    this.state = state
    this.dispatchEvent(new CustomEvent("state", { detail: { state, detail } }))
  }

  /** Opens (or reopens) the socket. */
  start() {
    this.stopped = false
    clearTimeout(this.timer)
    if (this.ws && this.ws.readyState <= 1) this.ws.close(1000, "reconnect")
    this.setState("connecting", this.url)
    const ws = new WebSocket(this.url)
    this.ws = ws
    ws.onmessage = (m) => this.onFrame(ws, m.data)
    ws.onclose = (e) => this.onClose(ws, e)
    ws.onerror = () => {}
  }

  /** Closes and stops reconnecting. */
  stop() {
    this.stopped = true
    clearTimeout(this.timer)
    this.ws?.close(1000, "bye")
  }

  /** Calls a method; resolves with the payload or rejects with the gateway's error ({code, message}). */
  request(method, params = {}) {
    const ws = this.ws
    if (!ws || ws.readyState !== 1 || this.hello === undefined) return Promise.reject({ code: "NOT_CONNECTED", message: "not connected to the gateway" })
    const id = `${this.nextId++}:${crypto.randomUUID()}`
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject({ code: "TIMEOUT", message: `${method} timed out` })
      }, REQUEST_TIMEOUT_MS)
      this.pending.set(id, { resolve, reject, timer })
      ws.send(JSON.stringify({ type: "req", id, method, params }))
    })
  }

  /** Whether hello-ok advertised the method. */
  has(method) {
    return this.hello?.features?.methods?.includes(method) === true
  }

  async onFrame(ws, data) {
    if (ws !== this.ws || typeof data !== "string") return
    let frame
    try {
      frame = JSON.parse(data)
    } catch {
      return
    }
    if (frame.type === "event" && frame.event === "connect.challenge") return this.sendConnect(ws, frame.payload)
    if (frame.type === "res") {
      const p = this.pending.get(frame.id)
      if (!p) return
      this.pending.delete(frame.id)
      clearTimeout(p.timer)
      return frame.ok ? p.resolve(frame.payload) : p.reject(frame.error ?? { code: "ERROR", message: "request failed" })
    }
    if (frame.type === "event") this.dispatchEvent(new CustomEvent("gateway-event", { detail: frame }))
  }

  async sendConnect(ws, challenge) {
    let device, stored
    try {
      device = await loadOrCreateIdentity()
      stored = await loadDeviceToken()
    } catch (e) {
      this.setState("error", String(e?.message ?? e))
      return ws.close(1000, "no identity")
    }
    this.device = device
    const useDeviceToken = stored?.token !== undefined && stored.deviceId === device.deviceId
    const auth = useDeviceToken ? { deviceToken: stored.token } : this.sharedToken !== "" ? { token: this.sharedToken } : {}
    const signed = { deviceId: device.deviceId, clientId: CLIENT.id, clientMode: CLIENT.mode, role: "operator", scopes: SCOPES, signedAtMs: challenge.ts, token: auth.token ?? auth.deviceToken ?? "", nonce: challenge.nonce, platform: CLIENT.platform, deviceFamily: CLIENT.deviceFamily }
    const params = {
      minProtocol: 3,
      maxProtocol: 4,
      client: { ...CLIENT, displayName: "Control UI", instanceId: device.deviceId.slice(0, 12) },
      caps: [],
      role: "operator",
      scopes: SCOPES,
      auth,
      userAgent: navigator.userAgent.slice(0, 200),
      locale: navigator.language,
      device: { id: device.deviceId, publicKey: device.publicKey, signature: await signText(device, payloadV3(signed)), signedAt: challenge.ts, nonce: challenge.nonce }
    }
    const id = `connect:${crypto.randomUUID()}`
    this.pending.set(id, {
      timer: undefined,
      resolve: (hello) => this.onHello(hello, device),
      reject: (error) => this.onRefused(error, useDeviceToken)
    })
    this.setState("authenticating", useDeviceToken ? "device token" : auth.token ? "gateway token" : "no credential")
    ws.send(JSON.stringify({ type: "req", id, method: "connect", params }))
  }

  async onHello(hello, device) {
    this.hello = hello
    this.retryMs = 1000
    if (hello.auth?.deviceToken) await saveDeviceToken({ deviceId: device.deviceId, token: hello.auth.deviceToken, role: hello.auth.role, scopes: hello.auth.scopes })
    this.setState("connected", `protocol ${hello.protocol}, ${hello.auth?.method ?? "?"}`)
    this.dispatchEvent(new CustomEvent("hello", { detail: hello }))
  }

  async onRefused(error, usedDeviceToken) {
    const code = error?.details?.code ?? error?.code ?? "ERROR"
    // A revoked or rotated device token is forgotten, so the next try can pair again with the gateway token.
    if (usedDeviceToken && /device token|DEVICE_TOKEN/i.test(`${error?.message} ${code}`)) await saveDeviceToken(undefined)
    if (code === "PAIRING_REQUIRED" || code === "NOT_PAIRED") {
      this.setState("pairing", error?.details?.requestId ?? "")
    } else {
      this.setState("refused", `${error?.message ?? "connect refused"}`)
    }
  }

  onClose(ws, e) {
    if (ws !== this.ws) return
    this.hello = undefined
    for (const [, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject?.({ code: "NOT_CONNECTED", message: "connection closed" })
    }
    this.pending.clear()
    this.dispatchEvent(new CustomEvent("closed", { detail: { code: e.code, reason: e.reason } }))
    // Waiting for approval or a refusal the user must fix keep their message; others show the close.
    if (this.state !== "pairing" && this.state !== "refused") this.setState("disconnected", `closed ${e.code}${e.reason ? `: ${e.reason}` : ""}`)
    if (this.stopped) return
    // While pairing, ask again soon (approval takes a human); otherwise back off up to 30 s.
    const delay = this.state === "pairing" ? 2000 : this.retryMs
    this.retryMs = Math.min(this.retryMs * 2, 30_000)
    // A refused credential is not retried on its own (each wrong guess counts): the user fixes it and presses Connect.
    if (this.state === "refused") return
    this.timer = setTimeout(() => this.start(), delay)
  }
}
