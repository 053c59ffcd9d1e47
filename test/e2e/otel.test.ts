import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import { join } from "node:path"
import { type Daemon, freePort, run, startDaemon } from "../helpers/processes.ts"
import { homeWithConfig } from "../helpers/testGateway.ts"

interface Export {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: any
}

/** A local OTLP/HTTP JSON receiver on loopback: keeps every export it is sent. */
const startReceiver = () =>
  new Promise<{ server: Server; url: string; exports: Array<Export> }>((resolve) => {
    const exports: Array<Export> = []
    const server = createServer((req, res) => {
      let body = ""
      req.on("data", (d) => (body += d))
      req.on("end", () => {
        exports.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(body) })
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, exports }))
  })

const waitFor = async (what: string, check: () => boolean, ms = 20_000) => {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const spanNames = (exports: ReadonlyArray<Export>) =>
  exports.filter((e) => e.path === "/v1/traces").flatMap((e) =>
    e.body.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans.map((s: any) => s.name as string)))
  )

const metricsNamed = (exports: ReadonlyArray<Export>, name: string) =>
  exports.filter((e) => e.path === "/v1/metrics").flatMap((e) =>
    e.body.resourceMetrics.flatMap((rm: any) => rm.scopeMetrics.flatMap((sm: any) => sm.metrics.filter((m: any) => m.name === name)))
  )

const points = (metric: any): Array<{ attributes: Record<string, string>; value: number }> =>
  (metric.sum ?? metric.gauge).dataPoints.map((p: any) => ({
    attributes: Object.fromEntries((p.attributes ?? []).map((a: any) => [a.key, a.value.stringValue])),
    value: Number(p.asInt ?? p.asDouble)
  }))

describe("OpenTelemetry export over OTLP/HTTP", () => {
  const token = "otel-token-2f8e61b9d4"
  const apiKey = "otel-api-key-7c3a90e15b24d6f8"
  let receiver: Awaited<ReturnType<typeof startReceiver>>
  let daemon: Daemon
  let env: ReturnType<typeof homeWithConfig>
  let url = ""

  beforeAll(async () => {
    receiver = await startReceiver()
    env = homeWithConfig({
      diagnostics: { otel: { endpoint: receiver.url, protocol: "http/json", headers: { "x-api-key": apiKey }, flushIntervalMs: 200, serviceName: "gatehouse-test" } }
    })
    const port = await freePort()
    url = `ws://127.0.0.1:${port}`
    daemon = await startDaemon(["gateway", "run", "--port", String(port), "--token", token], env, /listening on ws:/)
  }, 60_000)

  afterAll(async () => {
    daemon.child.kill("SIGTERM")
    await daemon.exited
    receiver.server.close()
  })

  it("exports a span for an RPC and the gateway's metrics, refusals included, with the configured headers", async () => {
    const health = await run(["health", "--url", url, "--token", token], env)
    assert.strictEqual(health.code, 0, health.stdout + health.stderr)
    const unknown = await run(["gateway", "call", "no.such.method", "--url", url, "--token", token, "--json"], env)
    assert.strictEqual(unknown.code, 1)
    await waitFor("a span for health", () => spanNames(receiver.exports).some((n) => n.endsWith("health")))
    await waitFor("the refusal count", () =>
      metricsNamed(receiver.exports, "gatehouse_rpc_refused_total").some((m) => points(m).some((p) => p.attributes.reason === "unknown_method" && p.value >= 1)))
    const rpcs = metricsNamed(receiver.exports, "gatehouse_rpc_requests_total").flatMap(points)
    assert.isTrue(rpcs.some((p) => p.attributes.method === "health" && p.attributes.outcome === "ok" && p.value >= 1), JSON.stringify(rpcs))
    assert.isAbove(metricsNamed(receiver.exports, "gatehouse_handshakes_total").length, 0)
    const first = receiver.exports[0]!
    assert.strictEqual(first.headers["x-api-key"], apiKey)
    assert.match(String(first.headers["content-type"]), /application\/json/)
    const service = first.body[first.path === "/v1/traces" ? "resourceSpans" : "resourceMetrics"][0].resource.attributes
      .find((a: any) => a.key === "service.name").value.stringValue
    assert.strictEqual(service, "gatehouse-test")
  }, 60_000)

  it("never shows the headers: not in config.get, not in the log", async () => {
    const config = await run(["gateway", "call", "config.get", "--url", url, "--token", token, "--json"], env)
    assert.strictEqual(config.code, 0, config.stdout + config.stderr)
    assert.notInclude(config.stdout, apiKey)
    assert.include(config.stdout, "x-api-key")
    assert.notInclude(daemon.output(), apiKey)
    assert.notInclude(readFileSync(join(env.OPENCLAW_STATE_DIR, "logs", "gateway.log"), "utf8"), apiKey)
    assert.include(daemon.output(), `OpenTelemetry: exporting traces and metrics to ${receiver.url}`)
  }, 60_000)

  it("refuses to start with an endpoint that is not an http(s) URL, and says how to fix it", async () => {
    const bad = homeWithConfig({ diagnostics: { otel: { endpoint: "collector:4318" } } })
    const r = await run(["gateway", "run", "--port", String(await freePort()), "--token", token], bad)
    assert.strictEqual(r.code, 1)
    assert.include(r.stdout + r.stderr, "diagnostics.otel.endpoint")
    assert.include(r.stdout + r.stderr, "http://127.0.0.1:4318")
  }, 60_000)
})
