import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { existsSync, mkdirSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { join } from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { connectDevice, newDevice } from "../helpers/device.ts"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { homeWithConfig, tempHome } from "../helpers/testGateway.ts"
import { openWs } from "../helpers/wsClient.ts"

// The Control UI in a real browser: Debian's chromium (apt), driven by playwright-core (no browser download).
// .ci/run installs chromium; under CI a missing browser fails the run instead of skipping it.
const CHROMIUM = "/usr/bin/chromium"
const available = existsSync(CHROMIUM)
if (!available) {
  if (process.env.CI === "true") throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium for the Control UI browser test`)
  console.log(`skipping the Control UI browser test: ${CHROMIUM} is missing (apt-get install chromium)`)
}

const token = "control-ui-token-4f81c2a9d7"
const env = homeWithConfig({ gateway: { auth: { token }, trustedProxies: ["127.0.0.1"] } })
const cli = (port: number, ...args: Array<string>) => run(args, { ...env, OPENCLAW_GATEWAY_PORT: String(port) })
const ARTIFACTS = new URL("../artifacts/", import.meta.url).pathname

describe("the Control UI over HTTP", () => {
  let port = 0
  let daemon: Daemon
  beforeAll(async () => {
    port = await freePort()
    daemon = await startDaemon(["gateway", "run", "--port", String(port)], env, /listening on ws:/)
  })
  afterAll(async () => {
    daemon.child.kill("SIGTERM")
    await daemon.exited
  })

  it("serves the page and its modules with strict headers and their content types", async () => {
    const page = await fetch(`http://127.0.0.1:${port}/`)
    assert.strictEqual(page.status, 200)
    assert.strictEqual(page.headers.get("content-type"), "text/html; charset=utf-8")
    assert.match(page.headers.get("content-security-policy") ?? "", /^default-src 'self';.*frame-ancestors 'none'/)
    assert.notInclude(page.headers.get("content-security-policy") ?? "", "unsafe-inline")
    assert.strictEqual(page.headers.get("x-frame-options"), "DENY")
    assert.strictEqual(page.headers.get("referrer-policy"), "no-referrer")
    assert.strictEqual(page.headers.get("x-content-type-options"), "nosniff")
    assert.include(await page.text(), "/ui/app.js")
    const script = await fetch(`http://127.0.0.1:${port}/ui/app.js`)
    assert.strictEqual(script.headers.get("content-type"), "text/javascript; charset=utf-8")
    const head = await fetch(`http://127.0.0.1:${port}/`, { method: "HEAD" })
    assert.strictEqual(head.status, 200)
    assert.strictEqual(await head.text(), "")
  })

  it("serves nothing else: unknown paths 404, other methods 405, a foreign Origin 403, a rebinding Host 421", async () => {
    assert.strictEqual((await fetch(`http://127.0.0.1:${port}/ui/secret.js`)).status, 404)
    assert.strictEqual((await fetch(`http://127.0.0.1:${port}/package.json`)).status, 404)
    assert.strictEqual((await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "x" })).status, 405)
    assert.strictEqual((await fetch(`http://127.0.0.1:${port}/`, { headers: { origin: `http://127.0.0.1:${port + 1}` } })).status, 403)
    const raw = await rawGet(port, "/ui/../../package.json")
    assert.match(raw, /^HTTP\/1\.1 404/)
    assert.match(await rawGet(port, "/", "evil.example"), /^HTTP\/1\.1 421/)
  })

  it("prints its URL with gatehouse dashboard, with the token only when asked", async () => {
    const plain = await cli(port, "dashboard", "--json")
    assert.strictEqual(plain.code, 0, plain.stderr)
    const doc = JSON.parse(plain.stdout)
    assert.deepInclude(doc, { ok: true, url: `http://127.0.0.1:${port}/`, running: true, tokenIncluded: false })
    assert.notInclude(plain.stdout, token)
    const withToken = await cli(port, "dashboard", "--with-token", "--json")
    assert.strictEqual(JSON.parse(withToken.stdout).url, `http://127.0.0.1:${port}/#token=${token}`)
    const human = await cli(port, "dashboard")
    assert.strictEqual(human.stdout.trim(), `http://127.0.0.1:${port}/`)
    assert.include(human.stderr, "gatehouse devices approve")
  })

  it("without a running gateway or a stored token, says so: one JSON document either way", async () => {
    const home = { HOME: tempHome(), OPENCLAW_GATEWAY_PORT: "18999" }
    const idle = await run(["dashboard", "--json"], home)
    assert.strictEqual(idle.code, 0, idle.stderr)
    assert.deepInclude(JSON.parse(idle.stdout), { ok: true, url: "http://127.0.0.1:18999/", running: false })
    const noToken = await run(["dashboard", "--with-token", "--json"], home)
    assert.strictEqual(noToken.code, 1)
    const doc = JSON.parse(noToken.stdout)
    assert.strictEqual(doc.ok, false)
    assert.include(doc.error.hint, "OPENCLAW_GATEWAY_TOKEN")
  })

  it("with --open and no opener on PATH, fails softly: prints the URL and how to open it", async () => {
    const opened = await run(["dashboard", "--open", "--json"], { ...env, OPENCLAW_GATEWAY_PORT: String(port), PATH: "/nonexistent" })
    const doc = JSON.parse(opened.stdout)
    assert.strictEqual(doc.ok, true)
    assert.strictEqual(doc.opened, false)
    assert.match(doc.openError, /xdg-open|open/)
    const human = await run(["dashboard", "--open"], { ...env, OPENCLAW_GATEWAY_PORT: String(port), PATH: "/nonexistent" })
    assert.strictEqual(human.stdout.trim(), `http://127.0.0.1:${port}/`)
    assert.include(human.stderr, "could not open a browser")
  })
})

describe.runIf(available)("the Control UI in headless Chromium", () => {
  let port = 0
  let daemon: Daemon
  let nodeHost: Daemon
  let browser: Browser
  let page: Page
  let foreign: Server
  let foreignPort = 0

  beforeAll(async () => {
    port = await freePort()
    daemon = await startDaemon(["gateway", "run", "--port", String(port)], env, /listening on ws:/)
    nodeHost = await startDaemon(["node", "run", "--display-name", "ui-node"], { ...env, OPENCLAW_GATEWAY_PORT: String(port) }, /node connected/)
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] })
    page = await browser.newPage()
    page.on("pageerror", (e) => console.log(`page error: ${e.message}`))
    // A page on another loopback port: same host, different origin.
    foreignPort = await freePort()
    foreign = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" })
      res.end(`<!doctype html><title>pending</title><script>
        const ws = new WebSocket("ws://127.0.0.1:" + (new URLSearchParams(location.search).get("port") ?? "${port}") + "/");
        ws.onmessage = (m) => { document.title = "message: " + String(m.data).slice(0, 60) };
        ws.onclose = (e) => { document.title = "closed " + e.code + " " + e.reason };
      </script>`)
    })
    await new Promise<void>((resolve) => foreign.listen(foreignPort, "127.0.0.1", resolve))
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    foreign?.close()
    for (const d of [nodeHost, daemon]) {
      if (d === undefined) continue
      d.child.kill("SIGTERM")
      await d.exited
    }
  })

  it("loads, asks to be paired, and once the owner approves it shows health, presence, nodes and channels", async () => {
    // The token travels in the fragment, as `gatehouse dashboard --with-token` prints it; the page removes it at once.
    await page.goto(`http://127.0.0.1:${port}/#token=${token}`)
    assert.strictEqual(new URL(page.url()).hash, "")
    // A token from a link is never used by itself (any site can link here): it waits in the field for a click.
    await page.locator("#token-note").waitFor({ state: "visible" })
    assert.notStrictEqual(await page.locator("#conn").getAttribute("data-state"), "pairing")
    await page.locator("#connect").click()
    const pairing = page.locator("#pairing")
    await pairing.waitFor({ state: "visible", timeout: 20_000 })
    const requestId = await waitFor(async () => (await pairing.getAttribute("data-request-id")) || undefined)
    const deviceId = (await page.locator("#device-id").textContent())!.trim()
    assert.match(deviceId, /^[0-9a-f]{64}$/)
    // The owner approves the browser from the CLI, like any device.
    const listed = JSON.parse((await cli(port, "devices", "list", "--json")).stdout)
    const pending = listed.pending.find((p: { requestId: string }) => p.requestId === requestId)
    assert.strictEqual(pending.deviceId, deviceId)
    assert.strictEqual(pending.clientId, "openclaw-control-ui")
    const approved = await cli(port, "devices", "approve", requestId)
    assert.strictEqual(approved.code, 0, approved.stdout + approved.stderr)
    await page.locator("#conn[data-state=connected]").waitFor({ timeout: 20_000 })
    await page.locator("#health").getByText("healthy").waitFor()
    await page.locator("#presence td").first().waitFor()
    await page.locator("#nodes").getByText("ui-node").waitFor({ timeout: 15_000 })
    await page.locator("#channels").getByText(/no channels configured|telegram/i).waitFor()
    // The private key never left the browser: IndexedDB holds a non-extractable CryptoKey.
    // (Strings, not functions: they run in the page, whose DOM types this Node project does not load.)
    const extractable = await page.evaluate(`new Promise((resolve, reject) => {
      const req = indexedDB.open("gatehouse-control-ui")
      req.onsuccess = () => {
        const get = req.result.transaction("identity").objectStore("identity").get("device")
        get.onsuccess = () => resolve(get.result.privateKey.extractable)
        get.onerror = () => reject(get.error)
      }
    })`)
    assert.isFalse(extractable)
    assert.strictEqual(await page.evaluate("localStorage.length + sessionStorage.length"), 0)
  }, 90_000)

  it("reconnects after a reload with its own device token, the gateway token gone", async () => {
    await page.goto(`http://127.0.0.1:${port}/`)
    await page.locator("#conn[data-state=connected]").waitFor({ timeout: 20_000 })
    assert.include(await page.locator("#conn-detail").textContent(), "device-token")
  }, 60_000)

  it("approves another device's pending request from the page", async () => {
    const other = newDevice()
    const refused = await Effect.runPromise(Effect.scoped(Effect.flatMap(openWs(`ws://127.0.0.1:${port}`, { "x-forwarded-for": "203.0.113.44" }), (c) =>
      connectDevice(c, other, { auth: { token }, client: { displayName: "kitchen tablet \u202eresworb siht" } }))))
    assert.strictEqual(refused.error.details.code, "PAIRING_REQUIRED")
    const requestId = refused.error.details.requestId as string
    const approve = page.locator(`#devices button.approve[data-request-id="${requestId}"]`)
    await approve.waitFor({ timeout: 15_000 })
    // A name cannot reorder itself into "this browser": the bidi override is shown, not obeyed.
    const row = (await approve.locator("xpath=ancestor::tr").textContent())!
    assert.include(row, "kitchen tablet \ufffdresworb siht")
    assert.notInclude(row, "\u202e")
    assert.notInclude(row, "(this browser)")
    await approve.click()
    await approve.waitFor({ state: "detached", timeout: 15_000 })
    const listed = JSON.parse((await cli(port, "devices", "list", "--json")).stdout)
    assert.isTrue(listed.paired.some((d: { deviceId: string }) => d.deviceId === other.deviceId), JSON.stringify(listed))
  }, 60_000)

  it("invokes a node command and shows the result", async () => {
    await page.locator("#invoke-node").selectOption({ label: "ui-node" })
    await page.locator("#invoke-command").selectOption("system.which")
    await page.locator("#invoke-params").fill(JSON.stringify({ name: "sh" }))
    await page.locator("#invoke").click()
    const result = page.locator("#invoke-result[data-status=ok]")
    await result.waitFor({ timeout: 20_000 })
    assert.match((await result.textContent())!, /\/sh\b/)
  }, 60_000)

  it("sends a WebChat message and shows the agent's reply", async () => {
    assert.isTrue(await page.locator("#chat-unavailable").isHidden(), "the WebChat panel says it is not available")
    await page.locator("#chat-input").fill("/help")
    await page.locator("#chat-send").click()
    await page.locator("#chat-log .msg.user").getByText("/help").waitFor()
    const reply = page.locator("#chat-log .msg.assistant[data-state=final]").last()
    await reply.waitFor({ timeout: 30_000 })
    assert.isAbove((await reply.textContent())!.trim().length, 0)
  }, 60_000)

  it("shows the live log", async () => {
    assert.isFalse(await page.locator("#logs-unavailable").isVisible(), "the live log panel says it is not available")
    await waitFor(async () => ((await page.locator("#logs").textContent()) ?? "").length > 0 || undefined, 15_000)
  }, 30_000)

  it("keeps a screenshot of the page", async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    const path = join(ARTIFACTS, "control-ui.png")
    await page.screenshot({ path, fullPage: true })
    assert.isTrue(existsSync(path))
    console.log(`Control UI screenshot: ${path}`)
  })

  it("§6.3: a ?gatewayUrl= in the address names no destination: the page and its token go only to its own origin", async () => {
    let upgrades = 0
    const count = () => void upgrades++
    foreign.on("upgrade", count)
    const other = await browser.newPage()
    try {
      await other.goto(`http://127.0.0.1:${port}/?gatewayUrl=ws://127.0.0.1:${foreignPort}/&gateway=ws://127.0.0.1:${foreignPort}/#token=${token}`)
      await other.locator("#connect").click()
      // It reaches its own gateway (which asks for this new browser to be paired) ...
      await other.locator("#conn[data-state=pairing]").waitFor({ timeout: 20_000 })
      // ... and nothing ever knocked on the port the query named.
      assert.strictEqual(upgrades, 0)
    } finally {
      foreign.off("upgrade", count)
      await other.close()
    }
  }, 60_000)

  it("refuses a page from another loopback port: the socket is closed 1008 CONTROL_UI_ORIGIN_NOT_ALLOWED", async () => {
    assert.match(await foreignPageTitle(browser, `http://127.0.0.1:${foreignPort}/`), /^closed 1008 CONTROL_UI_ORIGIN_NOT_ALLOWED/)
  }, 30_000)

  it("serves that page once its origin is in gateway.controlUi.allowedOrigins", async () => {
    const allowingPort = await freePort()
    const allowing = await startDaemon(
      ["gateway", "run", "--port", String(allowingPort)],
      homeWithConfig({ gateway: { auth: { token }, controlUi: { allowedOrigins: [`http://127.0.0.1:${foreignPort}`] } } }),
      /listening on ws:/
    )
    try {
      assert.match(await foreignPageTitle(browser, `http://127.0.0.1:${foreignPort}/?port=${allowingPort}`), /^message: .*connect\.challenge/)
    } finally {
      allowing.child.kill("SIGTERM")
      await allowing.exited
    }
  }, 30_000)
})

// ---------------------------------------------------------------------------

const waitFor = async <A>(probe: () => Promise<A | undefined>, timeoutMs = 15_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error("timed out waiting")
}

// The title the foreign test page sets: the first frame it got, or how its socket closed.
const foreignPageTitle = async (browser: Browser, url: string) => {
  const other = await browser.newPage()
  try {
    await other.goto(url)
    await other.waitForFunction(`document.title.startsWith("closed") || document.title.startsWith("message")`, undefined, { timeout: 15_000 })
    return await other.title()
  } finally {
    await other.close()
  }
}

// A request with the path and Host exactly as written (fetch would normalize both).
const rawGet = (port: number, path: string, host = `127.0.0.1:${port}`) =>
  new Promise<string>((resolve, reject) => {
    import("node:net").then(({ connect }) => {
      const socket = connect(port, "127.0.0.1", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`))
      let data = ""
      socket.on("data", (d) => (data += d))
      socket.on("end", () => resolve(data))
      socket.on("error", reject)
    })
  })
