import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import packet from "dns-packet"
import { resolveDiscovery } from "../../src/config/resolve.ts"
import type { LoadedFile } from "../../src/config/file.ts"
import { bodyHash, zoneFile, zoneHash } from "../../src/discovery/zone.ts"
import {
  type Advert,
  announcement,
  browseQuestions,
  answerTo,
  conflictIn,
  goodbye,
  hostLabel,
  instanceLabel,
  isOnLink,
  missingIn,
  parseTxt,
  probe,
  recordKey,
  renamedHost,
  renamedInstance,
  resolveBrowse,
  SERVICE_TYPE,
  txtFor
} from "../../src/discovery/records.ts"

const SHA = "ab".repeat(32)

const advert: Advert = {
  instance: "box (OpenClaw)",
  host: "box",
  port: 18789,
  ipv4: ["192.168.1.20"],
  ipv6: ["fe80::1"],
  txt: txtFor({ mode: "minimal", displayName: "box", lanHost: "box.local", gatewayPort: 18789 })
}

const roundTrip = (p: packet.Packet) => packet.decode(packet.encode(p))
const txtStrings = (a: packet.Answer | undefined) => ((a as { data: Array<Buffer> } | undefined)?.data ?? []).map((b) => b.toString())

const file = (doc: Record<string, unknown> = {}): LoadedFile => ({ exists: true, document: doc, config: doc, unknownKeys: [] }) as unknown as LoadedFile

describe("TXT hints", () => {
  it("minimal mode: role, transport, displayName, lanHost, gatewayPort and nothing else", () => {
    assert.deepStrictEqual(txtFor({ mode: "minimal", displayName: "box", lanHost: "box.local", gatewayPort: 18789, sshPort: 2222, cliPath: "/usr/bin/gatehouse" }), [
      ["role", "gateway"],
      ["transport", "gateway"],
      ["displayName", "box"],
      ["lanHost", "box.local"],
      ["gatewayPort", "18789"]
    ])
  })

  it("full mode adds sshPort (22 by default) and cliPath", () => {
    const full = Object.fromEntries(txtFor({ mode: "full", displayName: "box", lanHost: "box.local", gatewayPort: 1, cliPath: "/opt/gatehouse" }))
    assert.strictEqual(full.sshPort, "22")
    assert.strictEqual(full.cliPath, "/opt/gatehouse")
    assert.strictEqual(Object.fromEntries(txtFor({ mode: "full", displayName: "b", lanHost: "b.local", gatewayPort: 1, sshPort: 2222 })).sshPort, "2222")
  })

  it("TLS keys only with a well-formed fingerprint, normalised to 64 lowercase hex", () => {
    const colons = SHA.toUpperCase().match(/../g)!.join(":")
    const tls = Object.fromEntries(txtFor({ mode: "minimal", displayName: "b", lanHost: "b.local", gatewayPort: 1, tlsSha256: colons }))
    assert.strictEqual(tls.gatewayTls, "1")
    assert.strictEqual(tls.gatewayTlsSha256, SHA)
    const bad = Object.fromEntries(txtFor({ mode: "minimal", displayName: "b", lanHost: "b.local", gatewayPort: 1, tlsSha256: "abc" }))
    assert.isUndefined(bad.gatewayTls)
    assert.isUndefined(bad.gatewayTlsSha256)
  })

  it("tailnetDns without its trailing dot, canvasPort only when positive", () => {
    const t = Object.fromEntries(txtFor({ mode: "minimal", displayName: "b", lanHost: "b.local", gatewayPort: 1, tailnetDns: "box.tail1234.ts.net.", canvasPort: 0 }))
    assert.strictEqual(t.tailnetDns, "box.tail1234.ts.net")
    assert.isUndefined(t.canvasPort)
    assert.strictEqual(Object.fromEntries(txtFor({ mode: "minimal", displayName: "b", lanHost: "b.local", gatewayPort: 1, canvasPort: 18793 })).canvasPort, "18793")
  })

  it.effect.prop(
    "minimal mode never carries sshPort or cliPath, and every string fits in 255 bytes",
    [Schema.String, Schema.String, Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 })), Schema.Literals(["minimal", "full"])],
    ([name, cliPath, port, mode]) =>
      Effect.sync(() => {
        const txt = txtFor({ mode, displayName: name, lanHost: `${hostLabel(name)}.local`, gatewayPort: port, cliPath, sshPort: port })
        const keys = txt.map(([k]) => k)
        if (mode === "minimal") assert.isFalse(keys.includes("sshPort") || keys.includes("cliPath"))
        else assert.isTrue(keys.includes("sshPort"))
        for (const [k, v] of txt) assert.isAtMost(Buffer.byteLength(`${k}=${v}`), 255)
        assert.deepStrictEqual(keys.slice(0, 2), ["role", "transport"])
      })
  )
})

describe("environment overrides", () => {
  it("OPENCLAW_SSH_PORT, OPENCLAW_TAILNET_DNS and OPENCLAW_CLI_PATH give their hints; OPENCLAW_DISABLE_BONJOUR turns mDNS off", () => {
    const d = resolveDiscovery(file({ discovery: { mdns: { mode: "full", interfaces: ["eth0"] } } }), {
      OPENCLAW_SSH_PORT: "2222",
      OPENCLAW_TAILNET_DNS: "box.tail.ts.net.",
      OPENCLAW_CLI_PATH: "/opt/gh"
    })
    assert.deepStrictEqual(typeof d === "string" ? d : { ...d }, {
      mdnsMode: { value: "full", source: "file" },
      interfaces: ["eth0"],
      sshPort: 2222,
      tailnetDns: "box.tail.ts.net",
      cliPath: "/opt/gh",
      hostname: undefined,
      wideArea: undefined
    })
    const off = resolveDiscovery(file({ discovery: { mdns: { mode: "full" } } }), { OPENCLAW_DISABLE_BONJOUR: "1" })
    assert.deepStrictEqual(typeof off === "string" ? off : off.mdnsMode, { value: "off", source: "env" })
    const dflt = resolveDiscovery(file(), { OPENCLAW_DISABLE_BONJOUR: "0" })
    assert.deepStrictEqual(typeof dflt === "string" ? dflt : dflt.mdnsMode, { value: "minimal", source: "default" })
  })

  it("a bad OPENCLAW_SSH_PORT is an error naming the variable", () => {
    assert.strictEqual(resolveDiscovery(file(), { OPENCLAW_SSH_PORT: "ssh" }), `OPENCLAW_SSH_PORT must be a port number (1-65535), got "ssh"`)
  })
})

describe("records on the wire", () => {
  it("the announcement encodes and decodes to PTR, SRV, TXT, A, AAAA with RFC 6762 TTLs and cache-flush on unique records", () => {
    const decoded = roundTrip(announcement(advert))
    assert.strictEqual(decoded.type, "response")
    const byType = Object.fromEntries((decoded.answers ?? []).map((a) => [`${a.type}:${a.name}`, a]))
    const ptr = byType[`PTR:${SERVICE_TYPE}`] as packet.StringAnswer
    assert.strictEqual(ptr.data, `box (OpenClaw).${SERVICE_TYPE}`)
    assert.strictEqual(ptr.ttl, 4500)
    assert.isFalse(ptr.flush)
    const srv = byType[`SRV:box (OpenClaw).${SERVICE_TYPE}`] as packet.SrvAnswer
    assert.deepStrictEqual({ port: srv.data.port, target: srv.data.target, ttl: srv.ttl, flush: srv.flush }, { port: 18789, target: "box.local", ttl: 120, flush: true })
    assert.deepStrictEqual(txtStrings(byType[`TXT:box (OpenClaw).${SERVICE_TYPE}`]), ["role=gateway", "transport=gateway", "displayName=box", "lanHost=box.local", "gatewayPort=18789"])
    assert.strictEqual((byType["A:box.local"] as packet.StringAnswer).data, "192.168.1.20")
    assert.strictEqual((byType["AAAA:box.local"] as packet.StringAnswer).data, "fe80::1")
    assert.strictEqual((byType["PTR:_services._dns-sd._udp.local"] as packet.StringAnswer).data, SERVICE_TYPE)
  })

  it("the goodbye withdraws every record with TTL 0", () => {
    const decoded = roundTrip(goodbye(advert))
    assert.deepStrictEqual((decoded.answers ?? []).map((a) => a.type).sort(), ["A", "AAAA", "PTR", "SRV", "TXT"])
    for (const a of decoded.answers ?? []) assert.strictEqual((a as { ttl: number }).ttl, 0)
  })

  it("the probe asks ANY for both names with the proposed records as authorities", () => {
    const decoded = roundTrip(probe(advert))
    assert.strictEqual(decoded.type, "query")
    assert.deepStrictEqual(decoded.questions?.map((q) => q.name), [`box (OpenClaw).${SERVICE_TYPE}`, "box.local"])
    assert.deepStrictEqual((decoded.authorities ?? []).map((a) => a.type).sort(), ["A", "AAAA", "SRV", "TXT"])
  })

  it("answers a PTR query with the PTR and the rest as additionals; ignores what is not ours", () => {
    const query = roundTrip({ type: "query", id: 0, questions: [{ name: SERVICE_TYPE, type: "PTR" }] })
    const answer = roundTrip(answerTo(advert, query, false)!)
    assert.deepStrictEqual(answer.answers?.map((a) => a.type), ["PTR"])
    assert.deepStrictEqual(answer.additionals?.map((a) => a.type).sort(), ["A", "AAAA", "SRV", "TXT"])
    assert.isUndefined(answerTo(advert, roundTrip({ type: "query", id: 0, questions: [{ name: "_http._tcp.local", type: "PTR" }] }), false))
    const a = roundTrip(answerTo(advert, roundTrip({ type: "query", id: 0, questions: [{ name: "BOX.local", type: "A" }] }), false)!)
    assert.deepStrictEqual(a.answers?.map((x) => [x.type, (x as packet.StringAnswer).data]), [["A", "192.168.1.20"]])
  })

  it("answers a legacy unicast query (not from port 5353) with its id and questions, TTL 10 and no cache-flush", () => {
    const query = roundTrip({ type: "query", id: 4242, questions: [{ name: `box (OpenClaw).${SERVICE_TYPE}`, type: "SRV" }] })
    const answer = roundTrip(answerTo(advert, query, true)!)
    assert.strictEqual(answer.id, 4242)
    assert.deepStrictEqual(answer.questions?.map((q) => q.type), ["SRV"])
    for (const a of [...(answer.answers ?? []), ...(answer.additionals ?? [])]) {
      assert.strictEqual((a as { ttl: number }).ttl, 10)
      assert.isFalse((a as { flush: boolean }).flush)
    }
  })

  it("leaves out known answers with at least half our TTL, and records multicast within the last second", () => {
    const ptr = { name: SERVICE_TYPE, type: "PTR" as const, data: `box (OpenClaw).${SERVICE_TYPE}` }
    const ask = (ttl: number) => roundTrip({ type: "query", id: 0, questions: [{ name: SERVICE_TYPE, type: "PTR" }], answers: [{ ...ptr, ttl }] })
    assert.isUndefined(answerTo(advert, ask(2250), false))
    assert.deepStrictEqual(roundTrip(answerTo(advert, ask(2249), false)!).answers?.map((a) => a.type), ["PTR"])
    assert.isDefined(answerTo(advert, ask(4500), true))
    const plain = roundTrip({ type: "query", id: 0, questions: [{ name: SERVICE_TYPE, type: "PTR" }] })
    assert.isUndefined(answerTo(advert, plain, false, new Set([recordKey({ ...ptr, ttl: 4500 })])))
  })

  it("a truncated or oversized-label packet fails to decode (the responder drops it), and a TXT key-less entry is ignored", () => {
    const bytes = packet.encode(announcement(advert))
    assert.throws(() => packet.decode(bytes.subarray(0, bytes.length - 7)))
    const labelled = Buffer.from(bytes)
    labelled[12] = 64
    assert.throws(() => packet.decode(labelled.subarray(0, 40)))
    assert.deepStrictEqual(parseTxt([Buffer.from("=bad"), Buffer.from("role=gateway"), Buffer.from("role=other"), Buffer.from("flag")]), { role: "gateway", flag: "" })
  })
})

describe("conflicts and renaming", () => {
  const response = (answers: Array<packet.Answer>) => roundTrip({ type: "response", answers })

  it("another responder's SRV or TXT for our instance with other data is an instance conflict", () => {
    assert.strictEqual(conflictIn(advert, response([{ name: `box (OpenClaw).${SERVICE_TYPE}`, type: "SRV", ttl: 120, data: { port: 9999, target: "other.local" } }])), "instance")
    assert.strictEqual(conflictIn(advert, response([{ name: `Box (OpenClaw).${SERVICE_TYPE}`, type: "TXT", ttl: 120, data: ["role=gateway"] }])), "instance")
  })

  it("an address for our host name that is not ours is a host conflict; our own records and goodbyes are not conflicts", () => {
    assert.strictEqual(conflictIn(advert, response([{ name: "box.local", type: "A", ttl: 120, data: "192.168.1.99" }])), "host")
    assert.isUndefined(conflictIn(advert, roundTrip(announcement(advert))))
    assert.isUndefined(conflictIn(advert, response([{ name: "box.local", type: "A", ttl: 0, data: "192.168.1.99" }])))
    assert.isUndefined(conflictIn(advert, roundTrip({ type: "query", questions: [{ name: "box.local", type: "A" }] })))
  })

  it("renames as \"name (2)\", \"name (3)\" and host-2", () => {
    assert.deepStrictEqual([1, 2, 3].map((n) => renamedInstance("box (OpenClaw)", n)), ["box (OpenClaw)", "box (OpenClaw) (2)", "box (OpenClaw) (3)"])
    assert.strictEqual(renamedHost("box", 2), "box-2")
    assert.strictEqual(instanceLabel("my OpenClaw box"), "my OpenClaw box")
    assert.strictEqual(hostLabel("Box_1.example.com"), "box-1")
    assert.strictEqual(hostLabel("..."), "openclaw")
  })
})

describe("browse results", () => {
  const ptr = (instance: string): packet.Answer => ({ name: SERVICE_TYPE, type: "PTR", ttl: 4500, data: `${instance}.${SERVICE_TYPE}` })
  const srv = (instance: string, port: number, target: string): packet.Answer => ({ name: `${instance}.${SERVICE_TYPE}`, type: "SRV", ttl: 120, data: { port, target } })

  it("the endpoint comes from SRV + A, never from the TXT hints", () => {
    const records = roundTrip({
      type: "response",
      answers: [
        ptr("gw"),
        srv("gw", 18789, "gw.local"),
        { name: `gw.${SERVICE_TYPE}`, type: "TXT", ttl: 4500, data: ["role=gateway", "gatewayPort=1", "lanHost=evil.example"] },
        { name: "gw.local", type: "AAAA", ttl: 120, data: "fd00::5" },
        { name: "gw.local", type: "A", ttl: 120, data: "192.168.1.5" }
      ]
    }).answers as Array<never>
    assert.deepStrictEqual(resolveBrowse(records), [{
      instance: "gw",
      hostname: "gw.local",
      port: 18789,
      addresses: ["192.168.1.5", "fd00::5"],
      txt: { role: "gateway", gatewayPort: "1", lanHost: "evil.example" }
    }])
  })

  it("leaves out instances without SRV or addresses, and what a goodbye withdrew; says what to ask for next", () => {
    const records = [ptr("a"), ptr("b"), srv("b", 1, "b.local"), ptr("c"), srv("c", 2, "c.local"), { name: "c.local", type: "A", ttl: 120, data: "10.0.0.3" }] as Array<never>
    assert.deepStrictEqual(resolveBrowse(records).map((s) => s.instance), ["c"])
    assert.deepStrictEqual(missingIn(records), { instances: [`a.${SERVICE_TYPE}`], hosts: ["b.local"] })
    assert.deepStrictEqual(resolveBrowse([...records, { ...(ptr("c") as object), ttl: 0 } as never]), [])
  })

  it("on-link means in the interface's subnet", () => {
    const iface = { address: "169.254.77.1", netmask: "255.255.255.0" }
    assert.isTrue(isOnLink("169.254.77.2", iface))
    assert.isFalse(isOnLink("10.0.0.2", iface))
    assert.isFalse(isOnLink("fe80::1", iface))
  })
})

describe("wide-area zone file", () => {
  const zone = {
    domain: "gw.example.internal",
    host: "box",
    port: 18789,
    ipv4: "100.101.102.103",
    ipv6: ["fd7a:115c:a1e0::1"],
    txt: [["role", "gateway"], ["displayName", 'my "box"\\x'], ["gatewayPort", "18789"]] as const
  }

  it("holds SOA, NS, A/AAAA, PTR, SRV and TXT for the domain, TXT strings quoted and escaped", () => {
    assert.strictEqual(zoneFile(zone, 1764500000), [
      "; gatehouse wide-area DNS-SD zone for gw.example.internal (generated: edits are overwritten)",
      `; content-hash ${bodyHash(zone)}`,
      "$ORIGIN gw.example.internal.",
      "$TTL 60",
      "@ IN SOA ns1 hostmaster 1764500000 7200 3600 1209600 60",
      "@ IN NS ns1",
      "ns1 IN A 100.101.102.103",
      "box IN A 100.101.102.103",
      "box IN AAAA fd7a:115c:a1e0::1",
      "_services._dns-sd._udp IN PTR _openclaw-gw._tcp",
      "_openclaw-gw._tcp IN PTR box-gateway._openclaw-gw._tcp",
      "box-gateway._openclaw-gw._tcp IN SRV 0 0 18789 box",
      'box-gateway._openclaw-gw._tcp IN TXT "role=gateway" "displayName=my \\"box\\"\\\\x" "gatewayPort=18789"',
      ""
    ].join("\n"))
  })

  it("its content hash ignores the serial and changes with any record", () => {
    assert.strictEqual(zoneHash(zoneFile(zone, 1)), zoneHash(zoneFile(zone, 2)))
    assert.notStrictEqual(bodyHash(zone), bodyHash({ ...zone, port: 18790 }))
    assert.notStrictEqual(bodyHash(zone), bodyHash({ ...zone, ipv4: "100.101.102.104" }))
  })

  it("discovery.wideArea.domain (or OPENCLAW_WIDE_AREA_DOMAIN) turns it on, with the zone under the state dir by default", () => {
    const on = resolveDiscovery(file({ discovery: { wideArea: { domain: "GW.example.internal." } } }), {}, "/state")
    assert.deepStrictEqual(typeof on === "string" ? on : on.wideArea, { domain: "gw.example.internal", zoneFile: "/state/dns/gw.example.internal.db" })
    const env = resolveDiscovery(file({ discovery: { wideArea: { zoneFile: "/etc/bind/gw.db" } } }), { OPENCLAW_WIDE_AREA_DOMAIN: "x.internal" }, "/state")
    assert.deepStrictEqual(typeof env === "string" ? env : env.wideArea, { domain: "x.internal", zoneFile: "/etc/bind/gw.db" })
    const off = resolveDiscovery(file({ discovery: { wideArea: { enabled: false, domain: "x.internal" } } }), {}, "/state")
    assert.isUndefined(typeof off === "string" ? off : off.wideArea)
    assert.include(String(resolveDiscovery(file({ discovery: { wideArea: { domain: "bad domain" } } }), {})), "discovery.wideArea.domain")
  })
})

describe("browsing is bounded by what it keeps, not by what peers send", () => {
  it("resolves at most 64 services and asks again about at most 16 instances and 16 hosts", () => {
    const answers: Array<never> = []
    for (let i = 0; i < 500; i++) {
      const fqdn = `gw${i}._openclaw-gw._tcp.local`
      answers.push({ name: "_openclaw-gw._tcp.local", type: "PTR", ttl: 120, data: fqdn } as never)
      answers.push({ name: fqdn, type: "SRV", ttl: 120, data: { priority: 0, weight: 0, port: 18789, target: `h${i}.local` } } as never)
      answers.push({ name: `h${i}.local`, type: "A", ttl: 120, data: `192.0.2.${i % 250 + 1}` } as never)
    }
    assert.lengthOf(resolveBrowse(answers), 64)
    const questions = browseQuestions({ instances: Array.from({ length: 500 }, (_, i) => `i${i}`), hosts: Array.from({ length: 500 }, (_, i) => `h${i}`) })
    assert.lengthOf(questions, 1 + 32 + 32)
  })
})
