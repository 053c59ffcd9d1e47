import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type MulticastPair, mdnsPeersUnavailable, multicastPair } from "../helpers/netns.ts"
import { watch, type Watched } from "../helpers/lines.ts"
import { BIN, run } from "../helpers/processes.ts"
import { tempHome } from "../helpers/testGateway.ts"

// gatehouse's mDNS against independent implementations (python3-zeroconf, avahi), in two network
// namespaces joined by a veth pair. Never outside them: mDNS in the root namespace reaches the real network.
const unavailable = mdnsPeersUnavailable()
if (unavailable !== undefined) {
  if (process.env.CI === "true") throw new Error(`the mDNS namespace tests must run under CI: ${unavailable}`)
  console.log(`skipping the mDNS namespace tests: ${unavailable}`)
}

const fixture = (name: string) => new URL(`fixtures/${name}`, import.meta.url).pathname
const IP = "/usr/sbin/ip"
const PY = "/usr/bin/python3"
const PORT = 18789
const SHA = "0123456789abcdef".repeat(4)

interface Resolved {
  readonly event: string
  readonly instance: string
  readonly srv_host: string
  readonly srv_port: number
  readonly addresses: ReadonlyArray<string>
  readonly txt: Record<string, string>
}

const json = (line: string) => JSON.parse(line) as Resolved
const isEvent = (event: string, test: (r: Resolved) => boolean = () => true) => (line: string) => {
  if (!line.startsWith("{")) return false
  const r = json(line)
  return r.event === event && test(r)
}

describe.runIf(unavailable === undefined)("mDNS against independent peers (network namespaces)", () => {
  let ns: MulticastPair
  let gateway: Watched | undefined
  const home = tempHome()
  const gatewayEnv = (disable: string) => ({
    HOME: home,
    OPENCLAW_DISABLE_BONJOUR: disable,
    OPENCLAW_MDNS_HOSTNAME: "ghgw",
    OPENCLAW_SSH_PORT: "2222",
    OPENCLAW_TAILNET_DNS: "ghgw.tail1234.ts.net.",
    OPENCLAW_CLI_PATH: "/opt/gatehouse/bin/gatehouse"
  })
  const startGateway = (disable: string) =>
    watch(IP, ["netns", "exec", ns.gateway, process.execPath, BIN, "gateway", "run", "--bind", "custom", "--host", ns.gatewayIp, "--port", String(PORT)], gatewayEnv(disable))
  const zeroconf = (seconds: number) => watch(IP, ["netns", "exec", ns.client, PY, fixture("zeroconf-watch.py"), String(seconds)], {})
  const expectedTxt = {
    role: "gateway",
    transport: "gateway",
    displayName: "ghgw",
    lanHost: "ghgw.local",
    gatewayPort: String(PORT),
    tailnetDns: "ghgw.tail1234.ts.net",
    sshPort: "2222",
    cliPath: "/opt/gatehouse/bin/gatehouse"
  }

  beforeAll(async () => {
    ns = multicastPair(String(process.pid % 10000))
    mkdirSync(join(home, ".openclaw"), { recursive: true })
    writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify({ discovery: { mdns: { mode: "full" } } }))
    gateway = startGateway("0")
    await gateway.waitFor((l) => l.includes('mDNS: advertising "ghgw (OpenClaw)"'))
  })

  afterAll(async () => {
    await gateway?.stop()
    ns?.down()
  })

  it("python3-zeroconf resolves the gateway's host, port, address and every TXT key", async () => {
    const zc = zeroconf(10)
    try {
      const r = json(await zc.waitFor(isEvent("resolved", (r) => r.srv_port === PORT)))
      assert.strictEqual(r.instance, "ghgw (OpenClaw)._openclaw-gw._tcp.local.")
      assert.strictEqual(r.srv_host, "ghgw.local.")
      assert.include(r.addresses, ns.gatewayIp)
      assert.deepStrictEqual(r.txt, expectedTxt)
    } finally {
      await zc.stop()
    }
  }, 20_000)

  it("`gatehouse status` on the gateway host shows the advertiser's state", async () => {
    const r = await run(["netns", "exec", ns.gateway, process.execPath, BIN, "status"], { HOME: home }, IP)
    assert.strictEqual(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`Discovery mdns · advertising on ${ns.gatewayDev} · advertising ghgw \\(OpenClaw\\) \\(ghgw\\.local:${PORT}\\)`))
  }, 20_000)

  it("avahi-browse (its own avahi-daemon and dbus in the namespace) resolves it with the same port and TXT, and logs no rejected packet", async () => {
    const r = await run([ns.client, "_openclaw-gw._tcp", "4"], {}, fixture("avahi-browse.sh"))
    const resolved = r.stdout.split("\n").find((l) => l.startsWith("=;") && l.includes(";IPv4;"))
    assert.isDefined(resolved, r.stdout + r.stderr)
    const [, , , instance, type, domain, host, address, port, txt] = resolved!.split(";")
    assert.deepStrictEqual([instance, type, domain, host, address, port], ["ghgw\\032\\040OpenClaw\\041", "_openclaw-gw._tcp", "local", "ghgw.local", ns.gatewayIp, String(PORT)])
    const strings = [...txt!.matchAll(/"([^"]*)"/g)].map((m) => m[1]).sort()
    assert.deepStrictEqual(strings, Object.entries(expectedTxt).map(([k, v]) => `${k}=${v}`).sort())
    assert.notMatch(r.stdout, /invalid source port|Packet too short or invalid/)
  }, 30_000)

  it("`gatehouse discover` finds a gateway advertised by python3-zeroconf, endpoint from SRV + A, TXT as hints", async () => {
    const adv = watch(IP, [
      "netns", "exec", ns.gateway, PY, fixture("zeroconf-advertise.py"), "zc gateway", "zchost", ns.gatewayIp, "18790",
      JSON.stringify({ role: "gateway", gatewayPort: "1", lanHost: "elsewhere.example", gatewayTls: "1", gatewayTlsSha256: SHA })
    ], {})
    try {
      await adv.waitFor((l) => l === "ADVERTISING")
      const r = await run(["netns", "exec", ns.client, process.execPath, BIN, "discover", "--timeout", "1.5", "--json"], { HOME: tempHome() }, IP)
      assert.strictEqual(r.code, 0, r.stderr)
      const listed = (JSON.parse(r.stdout) as { gateways: Array<Record<string, unknown>> }).gateways
      const zc = listed.find((g) => g.name === "zc gateway")
      assert.deepStrictEqual(zc, {
        name: "zc gateway",
        url: `wss://${ns.gatewayIp}:18790`,
        host: ns.gatewayIp,
        port: 18790,
        hostname: "zchost.local",
        addresses: [ns.gatewayIp],
        source: "mdns",
        hints: { role: "gateway", gatewayPort: "1", lanHost: "elsewhere.example", gatewayTls: "1", gatewayTlsSha256: SHA }
      })
      assert.isDefined(listed.find((g) => g.name === "ghgw (OpenClaw)" && g.port === PORT), r.stdout)
    } finally {
      await adv.stop()
    }
  }, 20_000)

  it("a hostile peer (undecodable packets, a query flood, a conflict storm) neither kills the gateway nor stops it advertising", async () => {
    const hostile = await run(["netns", "exec", ns.client, process.execPath, fixture("mdns-hostile.mjs"), "ghgw (OpenClaw)._openclaw-gw._tcp.local", "5"], {}, IP)
    assert.match(hostile.stdout, /HOSTILE DONE \d+/, hostile.stderr)
    // The conflict made it rename, probe and announce again under the new name.
    await gateway!.waitFor((l) => l.includes('mDNS: advertising "ghgw (OpenClaw) (2)"'))
    const zc = zeroconf(10)
    try {
      const r = json(await zc.waitFor(isEvent("resolved", (r) => r.instance.startsWith("ghgw (OpenClaw) (2)"))))
      assert.strictEqual(r.srv_port, PORT)
      assert.deepStrictEqual(r.txt, expectedTxt)
    } finally {
      await zc.stop()
    }
    assert.isNull(gateway!.child.exitCode)
  }, 30_000)

  it("an edit of discovery.mdns.mode applies without a restart: off says goodbye, full advertises again", async () => {
    const configPath = join(home, ".openclaw", "openclaw.json")
    const zc = zeroconf(30)
    try {
      await zc.waitFor(isEvent("resolved", (r) => r.srv_port === PORT))
      writeFileSync(configPath, JSON.stringify({ discovery: { mdns: { mode: "off" } } }))
      await gateway!.waitFor((l) => l.includes("discovery restarted: config changed (mDNS off)"))
      assert.match(json(await zc.waitFor(isEvent("removed"))).instance, /^ghgw \(OpenClaw\)/)
      const seen = zc.lines().length
      writeFileSync(configPath, JSON.stringify({ discovery: { mdns: { mode: "full" } } }))
      await gateway!.waitFor((l) => l.includes("discovery restarted: config changed (mDNS full)"))
      const resolvedAgain = () => zc.lines().slice(seen).find(isEvent("resolved", (r) => r.srv_port === PORT))
      await zc.waitFor(() => resolvedAgain() !== undefined)
      const resolved = json(resolvedAgain()!)
      assert.deepInclude(resolved.txt, { sshPort: "2222", gatewayPort: String(PORT) })
      // The same process all along: one listener line, no restart.
      assert.strictEqual(gateway!.lines().filter((l) => l.includes("listening on ws://")).length, 1)
    } finally {
      await zc.stop()
    }
  }, 45_000)

  it("a stopping gateway says goodbye, and with OPENCLAW_DISABLE_BONJOUR=1 it advertises nothing", async () => {
    const zc = zeroconf(20)
    try {
      await zc.waitFor(isEvent("resolved", (r) => r.srv_port === PORT))
      assert.strictEqual(await gateway!.stop(), 0)
      const removed = json(await zc.waitFor(isEvent("removed")))
      assert.match(removed.instance, /^ghgw \(OpenClaw\)/)
    } finally {
      await zc.stop()
    }
    gateway = startGateway("1")
    await gateway.waitFor((l) => l.includes("listening on ws://"))
    const r = await run(["netns", "exec", ns.client, process.execPath, BIN, "discover", "--timeout", "2", "--json"], { HOME: tempHome() }, IP)
    assert.strictEqual(r.code, 0, r.stderr)
    assert.deepStrictEqual(JSON.parse(r.stdout).gateways, [])
    assert.notInclude(gateway.lines().join("\n"), "mDNS")
  }, 30_000)
})
