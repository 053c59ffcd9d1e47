// The Control UI page: wires the gateway connection to the panels (health,
// presence, nodes and invoke, pending device pairing, channels, WebChat, live
// log). Panels whose method the gateway does not advertise in hello-ok say
// "not available on this gateway" instead of failing.
import { Gateway } from "./gateway.js"
import { loadOrCreateIdentity, saveDeviceToken } from "./identity.js"
import { ago, clip, fill, h, table } from "./render.js"

const $ = (id) => document.getElementById(id)
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`
const gw = new Gateway(wsUrl)
const SESSION_KEY = "main"
const MAX_LOG_LINES = 500
const MAX_CHAT_MESSAGES = 200

// `#token=…` (as `openclaw dashboard` and `gatehouse dashboard --with-token` pass it): read once, then removed from
// the address bar and history at once. It lives in memory only and is sent only inside the WebSocket connect frame.
const fragment = new URLSearchParams(location.hash.slice(1))
if (fragment.has("token")) {
  gw.setToken(fragment.get("token") ?? "")
  history.replaceState(null, "", location.pathname + location.search)
}

const errorText = (e) => `${e?.code ?? "ERROR"}: ${e?.message ?? String(e)}`

// Connection state --------------------------------------------------------------------------------

gw.addEventListener("state", (e) => {
  const { state, detail } = e.detail
  const badge = $("conn")
  badge.dataset.state = state
  badge.textContent = state === "connected" ? "connected" : state === "pairing" ? "waiting for approval" : state
  $("conn-detail").textContent = state === "pairing" ? "" : detail
  const pairing = $("pairing")
  pairing.hidden = state !== "pairing"
  if (state === "pairing") {
    pairing.replaceChildren(
      "This browser is waiting for the owner's approval. On the gateway host run ",
      h("code", {}, `gatehouse devices approve ${detail || "<requestId>"}`),
      " (or approve it from another Control UI). This page retries every few seconds."
    )
    pairing.dataset.requestId = detail
  }
})

gw.addEventListener("hello", (e) => {
  const hello = e.detail
  renderHealth(hello.snapshot?.health)
  renderPresence(hello.snapshot?.presence ?? [])
  $("chat-unavailable").hidden = gw.has("chat.send")
  $("chat-form").hidden = !gw.has("chat.send")
  $("logs-unavailable").hidden = gw.has("logs.tail")
  $("logs").hidden = !gw.has("logs.tail")
  refreshAll()
  if (gw.has("chat.history")) loadChatHistory()
  logCursor = undefined
})

gw.addEventListener("gateway-event", (e) => {
  const { event, payload } = e.detail
  if (event === "health") renderHealth(payload)
  else if (event === "presence") renderPresence(payload?.presence ?? [])
  else if (event === "device.pair.requested" || event === "device.pair.resolved") refreshDevices()
  else if (event.startsWith("node.")) refreshNodes()
  else if (event === "chat") onChatEvent(payload)
})

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault()
  const token = $("token").value.trim()
  if (token !== "") gw.setToken(token)
  $("token").value = ""
  gw.start()
})

$("forget").addEventListener("click", async () => {
  await saveDeviceToken(undefined)
  $("conn-detail").textContent = "device token forgotten; connect with the gateway token to pair again"
})

// Panels --------------------------------------------------------------------------------------------

const renderHealth = (health) => {
  if (health === undefined || health === null) return fill("health", h("span", { class: "muted" }, "—"))
  const rows = Object.entries(health)
    .filter(([, v]) => v === null || typeof v !== "object")
    .slice(0, 20)
    .map(([k, v]) => [k, k === "ts" ? `${new Date(v).toLocaleTimeString()} (${ago(v)})` : String(v)])
  fill("health", h("p", {}, health.ok === false ? "⚠ unhealthy" : "✓ healthy"), table(["", ""], rows, ""))
}

const renderPresence = (entries) =>
  fill("presence", table(
    ["host", "mode", "platform", "ip", "seen"],
    entries.slice(0, 100).map((p) => [p.host ?? p.instanceId ?? "?", p.mode ?? "", [p.platform, p.deviceFamily].filter(Boolean).join(" / "), p.ip ?? "", ago(p.ts)]),
    "nobody connected"
  ))

let nodes = []

const refreshNodes = async () => {
  try {
    nodes = (await gw.request("node.list")).nodes ?? []
  } catch (e) {
    return fill("nodes", h("p", { class: "muted" }, errorText(e)))
  }
  fill("nodes", table(
    ["node", "platform", "state", "commands"],
    nodes.map((n) => [
      h("span", { title: n.nodeId }, n.displayName ?? n.nodeId.slice(0, 12)),
      n.platform ?? "",
      `${n.connected ? "connected" : "offline"}${n.paired ? ", paired" : ""}${n.pendingRequestId ? ", pending approval" : ""}`,
      (n.invokableCommands ?? []).join(", ")
    ]),
    "no nodes; start one with `gatehouse node run`"
  ))
  const select = $("invoke-node")
  const keep = select.value
  select.replaceChildren(...nodes.filter((n) => n.connected).map((n) => h("option", { value: n.nodeId }, n.displayName ?? n.nodeId.slice(0, 12))))
  if (keep && [...select.options].some((o) => o.value === keep)) select.value = keep
  fillCommands()
}

const fillCommands = () => {
  const node = nodes.find((n) => n.nodeId === $("invoke-node").value)
  const select = $("invoke-command")
  const keep = select.value
  select.replaceChildren(...(node?.invokableCommands ?? []).map((c) => h("option", { value: c }, c)))
  if (keep && [...select.options].some((o) => o.value === keep)) select.value = keep
}
$("invoke-node").addEventListener("change", fillCommands)

$("invoke-form").addEventListener("submit", async (e) => {
  e.preventDefault()
  const out = $("invoke-result")
  out.hidden = false
  out.classList.remove("error")
  let params
  try {
    params = JSON.parse($("invoke-params").value || "{}")
  } catch (err) {
    out.classList.add("error")
    out.textContent = `params are not JSON: ${err.message}`
    return
  }
  const nodeId = $("invoke-node").value
  const command = $("invoke-command").value
  if (!nodeId || !command) {
    out.classList.add("error")
    out.textContent = "pick a connected node and one of its commands"
    return
  }
  out.textContent = `invoking ${command}…`
  try {
    const answer = await gw.request("node.invoke", { nodeId, command, params, timeoutMs: 30_000, idempotencyKey: crypto.randomUUID() })
    out.dataset.status = "ok"
    out.textContent = clip(answer.payload ?? answer, 20_000)
  } catch (err) {
    out.dataset.status = "error"
    out.classList.add("error")
    out.textContent = errorText(err)
  }
})

const refreshDevices = async () => {
  let list
  try {
    list = await gw.request("device.pair.list")
  } catch (e) {
    return fill("devices", h("p", { class: "muted" }, errorText(e)))
  }
  const resolve = (method, requestId) => async () => {
    let failed
    try {
      await gw.request(method, { requestId })
    } catch (e) {
      failed = errorText(e)
    }
    await refreshDevices()
    if (failed !== undefined) document.getElementById("devices").append(h("p", { class: "result error" }, failed))
  }
  fill("devices",
    table(
      ["request", "device", "client", "asks for", "from", "", ""],
      (list.pending ?? []).map((r) => [
        r.requestId.slice(0, 8),
        h("span", { title: r.deviceId }, r.displayName ?? r.deviceId.slice(0, 12)),
        `${r.clientId} (${[r.platform, r.deviceFamily].filter(Boolean).join(" / ")})`,
        `${r.role}${r.scopes?.length ? `: ${r.scopes.join(", ")}` : ""}${r.isRepair ? " (repair)" : ""}`,
        r.remoteIp ?? "",
        h("button", { type: "button", class: "approve", "data-request-id": r.requestId, onclick: resolve("device.pair.approve", r.requestId) }, "Approve"),
        h("button", { type: "button", class: "danger reject", "data-request-id": r.requestId, onclick: resolve("device.pair.reject", r.requestId) }, "Reject")
      ]),
      "no pending requests"
    ),
    h("p", { class: "muted" }, `${(list.paired ?? []).length} paired device(s)`)
  )
}

const refreshChannels = async () => {
  let status
  try {
    status = await gw.request("channels.status", {})
  } catch (e) {
    return fill("channels", h("p", { class: "muted" }, e?.code === "INVALID_REQUEST" && /unknown method/.test(e.message) ? "not available on this gateway" : errorText(e)))
  }
  const rows = (status.channelOrder ?? []).flatMap((ch) =>
    (status.channelAccounts?.[ch] ?? [{}]).map((a) => [
      status.channelLabels?.[ch] ?? ch,
      a.accountId ?? "default",
      [a.enabled === false ? "disabled" : a.running ? "running" : a.configured === false ? "not configured" : "stopped", a.connected ? "connected" : ""].filter(Boolean).join(", "),
      a.lastError ? clip(a.lastError, 300) : ""
    ]))
  fill("channels", table(["channel", "account", "state", "last error"], rows, "no channels configured"))
}

const refreshPresence = async () => {
  try {
    const p = await gw.request("system-presence")
    renderPresence(Array.isArray(p) ? p : p?.presence ?? [])
  } catch {}
}

const refreshHealth = async () => {
  try {
    renderHealth(await gw.request("health"))
  } catch (e) {
    fill("health", h("p", { class: "muted" }, errorText(e)))
  }
}

const refreshAll = () => Promise.all([refreshHealth(), refreshPresence(), refreshNodes(), refreshDevices(), refreshChannels()])

// WebChat (chat.send / chat.history / `chat` events, OpenClaw's shapes) ------------------------------

const runs = new Map()
// Runs whose events came before chat.send answered (a fast agent): no placeholder is added for them.
const seenRuns = new Set()

const messageText = (message) => {
  if (message === undefined || message === null) return ""
  if (typeof message === "string") return message
  if (typeof message.content === "string") return message.content
  if (Array.isArray(message.content)) return message.content.filter((c) => c?.type === "text").map((c) => c.text).join("")
  return typeof message.text === "string" ? message.text : ""
}

const addMessage = (role, text, extra = {}) => {
  const log = $("chat-log")
  const el = h("div", { class: `msg ${role}`, ...extra }, text)
  log.append(el)
  while (log.childElementCount > MAX_CHAT_MESSAGES) log.firstElementChild.remove()
  log.scrollTop = log.scrollHeight
  return el
}

const loadChatHistory = async () => {
  try {
    const history = await gw.request("chat.history", { sessionKey: SESSION_KEY, limit: 50 })
    $("chat-log").replaceChildren()
    for (const m of history.messages ?? []) addMessage(m.role === "user" ? "user" : "assistant", messageText(m))
  } catch (e) {
    addMessage("assistant error", errorText(e))
  }
}

const onChatEvent = (payload) => {
  if (!payload || (payload.sessionKey !== undefined && !String(payload.sessionKey).endsWith(SESSION_KEY) && !runs.has(payload.runId))) return
  seenRuns.add(payload.runId)
  if (seenRuns.size > MAX_CHAT_MESSAGES) seenRuns.delete(seenRuns.values().next().value)
  let el = runs.get(payload.runId)
  if (el === undefined) {
    el = addMessage("assistant", "", { "data-run-id": payload.runId ?? "" })
    runs.set(payload.runId, el)
  }
  if (payload.state === "error") {
    el.classList.add("error")
    el.textContent = payload.errorMessage ?? "the agent failed"
  } else if (payload.state === "aborted") {
    el.textContent = `${el.textContent} (aborted)`
  } else {
    const text = messageText(payload.message)
    if (text !== "") el.textContent = text
  }
  if (payload.state !== "delta") {
    el.dataset.state = payload.state
    runs.delete(payload.runId)
  }
}

$("chat-form").addEventListener("submit", async (e) => {
  e.preventDefault()
  const text = $("chat-input").value.trim()
  if (text === "") return
  $("chat-input").value = ""
  addMessage("user", text)
  const idempotencyKey = crypto.randomUUID()
  try {
    const ack = await gw.request("chat.send", { sessionKey: SESSION_KEY, message: text, idempotencyKey })
    if (ack?.runId && !runs.has(ack.runId) && !seenRuns.has(ack.runId)) runs.set(ack.runId, addMessage("assistant", "…", { "data-run-id": ack.runId }))
  } catch (err) {
    addMessage("assistant error", errorText(err))
  }
})

// Live log (logs.tail with a cursor, polled) ------------------------------------------------------------

let logCursor
const pollLogs = async () => {
  if (gw.state === "connected" && gw.has("logs.tail")) {
    try {
      const r = await gw.request("logs.tail", { ...(logCursor === undefined ? {} : { cursor: logCursor }), limit: 200, maxBytes: 200_000 })
      const pre = $("logs")
      if (r.reset) pre.textContent = ""
      logCursor = r.cursor
      if ((r.lines ?? []).length > 0) {
        const lines = (pre.textContent === "" ? [] : pre.textContent.split("\n")).concat(r.lines.map((l) => clip(l, 2000)))
        pre.textContent = lines.slice(-MAX_LOG_LINES).join("\n")
        pre.scrollTop = pre.scrollHeight
      }
    } catch {}
  }
  setTimeout(pollLogs, 2000)
}

// Start ------------------------------------------------------------------------------------------------

setInterval(() => {
  if (gw.state === "connected") refreshAll()
}, 5000)

loadOrCreateIdentity()
  .then((d) => ($("device-id").textContent = d.deviceId))
  .catch((e) => ($("device-id").textContent = `unavailable: ${e.message}`))
gw.start()
pollLogs()
