import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type MulticastPair, multicastPair, netnsUnavailable } from "../helpers/netns.ts"
import { watch, type Watched } from "../helpers/lines.ts"
import { BIN, run } from "../helpers/processes.ts"
import { tempHome } from "../helpers/testGateway.ts"

// The wide-area beacon: the gateway writes a zone file, a real BIND (named) serves it inside a network
// namespace, and dig and `gatehouse discover --domain` resolve PTR -> SRV/TXT -> A from the other one.
const missing = (): string | undefined => {
  const netns = netnsUnavailable()
  if (netns !== undefined) return netns
  for (const bin of ["/usr/sbin/named", "/usr/bin/dig", "/usr/bin/named-checkzone"]) {
    if (spawnSync("test", ["-x", bin]).status !== 0) return `${bin} is missing (apt-get install bind9 bind9-dnsutils)`
  }
  return undefined
}
const unavailable = missing()
if (unavailable !== undefined) {
  if (process.env.CI === "true") throw new Error(`the wide-area DNS-SD test must run under CI: ${unavailable}`)
  console.log(`skipping the wide-area DNS-SD test: ${unavailable}`)
}

const IP = "/usr/sbin/ip"
const DOMAIN = "gw.example.internal"
const PORT = 18789

describe.runIf(unavailable === undefined)("wide-area DNS-SD zone served by BIND (network namespaces)", () => {
  let ns: MulticastPair
  let gateway: Watched | undefined
  let named: Watched | undefined
  const home = tempHome()
  const work = tempHome()
  const zonePath = join(work, "zones", `${DOMAIN}.db`)

  beforeAll(async () => {
    ns = multicastPair(`w${process.pid % 1000}`)
    mkdirSync(join(home, ".openclaw"), { recursive: true })
    writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify({
      discovery: { mdns: { mode: "off" }, wideArea: { domain: DOMAIN, zoneFile: zonePath } }
    }))
    gateway = watch(IP, ["netns", "exec", ns.gateway, process.execPath, BIN, "gateway", "run", "--bind", "custom", "--host", ns.gatewayIp, "--port", String(PORT)], {
      HOME: home,
      OPENCLAW_DISABLE_BONJOUR: "0",
      OPENCLAW_MDNS_HOSTNAME: "ghwa"
    })
    await gateway.waitFor((l) => l.includes(`wide-area: wrote the ${DOMAIN} zone`))
    writeFileSync(join(work, "named.conf"), `
options {
  directory "${work}";
  pid-file "${work}/named.pid";
  session-keyfile "${work}/session.key";
  listen-on port 53 { ${ns.gatewayIp}; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
};
zone "${DOMAIN}" { type primary; file "${zonePath}"; };
`)
    named = watch(IP, ["netns", "exec", ns.gateway, "/usr/sbin/named", "-g", "-c", join(work, "named.conf")], {})
    await named.waitFor((l) => /running$/.test(l))
  })

  afterAll(async () => {
    await named?.stop()
    await gateway?.stop()
    ns?.down()
  })

  it("the zone the gateway wrote passes named-checkzone", () => {
    const r = spawnSync("/usr/bin/named-checkzone", [DOMAIN, zonePath], { encoding: "utf8" })
    assert.strictEqual(r.status, 0, r.stdout + r.stderr + readFileSync(zonePath, "utf8"))
    assert.match(r.stdout, /OK/)
  })

  it("dig resolves PTR -> SRV/TXT -> A from the other namespace", async () => {
    const dig = async (name: string, type: string) => {
      const r = await run(["netns", "exec", ns.client, "/usr/bin/dig", `@${ns.gatewayIp}`, "+short", "+time=2", "+tries=1", name, type], {}, IP)
      assert.strictEqual(r.code, 0, r.stderr)
      return r.stdout.trim()
    }
    const instance = await dig(`_openclaw-gw._tcp.${DOMAIN}`, "PTR")
    assert.strictEqual(instance, `ghwa-gateway._openclaw-gw._tcp.${DOMAIN}.`)
    assert.strictEqual(await dig(instance, "SRV"), `0 0 ${PORT} ghwa.${DOMAIN}.`)
    const txt = await dig(instance, "TXT")
    for (const s of ["role=gateway", "transport=gateway", "displayName=ghwa", "lanHost=ghwa.local", `gatewayPort=${PORT}`]) assert.include(txt, `"${s}"`)
    assert.strictEqual(await dig(`ghwa.${DOMAIN}`, "A"), ns.gatewayIp)
  })

  it("`gatehouse discover --domain` resolves the same gateway through that DNS server", async () => {
    const r = await run(
      ["netns", "exec", ns.client, process.execPath, BIN, "discover", "--domain", DOMAIN, "--dns", ns.gatewayIp, "--timeout", "2", "--json"],
      { HOME: tempHome() },
      IP
    )
    assert.strictEqual(r.code, 0, r.stderr)
    const [g] = (JSON.parse(r.stdout) as { gateways: Array<Record<string, unknown>> }).gateways
    assert.deepStrictEqual(g, {
      name: "ghwa-gateway",
      url: `ws://${ns.gatewayIp}:${PORT}`,
      host: ns.gatewayIp,
      port: PORT,
      hostname: `ghwa.${DOMAIN}`,
      addresses: [ns.gatewayIp],
      source: "wide-area",
      hints: { role: "gateway", transport: "gateway", displayName: "ghwa", lanHost: "ghwa.local", gatewayPort: String(PORT) }
    })
  })
})
