import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { detectTailnet, parseTailscaleStatus, tailnetFromInterfaces, tailnetHint } from "../../src/net/tailnet.ts"

const fakeTailscale = (script: string) => {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-tailscale-"))
  writeFileSync(join(dir, "tailscale"), `#!/bin/sh\n${script}\n`)
  chmodSync(join(dir, "tailscale"), 0o755)
  return dir
}

const STATUS = JSON.stringify({ Self: { DNSName: "box.tail1234.ts.net.", TailscaleIPs: ["100.101.102.103", "fd7a:115c:a1e0::1"] } })

describe("tailnet detection", () => {
  it("reads the MagicDNS name and tailnet IPs from `tailscale status --json`", () => {
    assert.deepStrictEqual(parseTailscaleStatus(STATUS), { dnsName: "box.tail1234.ts.net", ipv4: "100.101.102.103", ipv6: "fd7a:115c:a1e0::1", source: "tailscale" })
    assert.strictEqual(tailnetHint(parseTailscaleStatus(JSON.stringify({ Self: { DNSName: "", TailscaleIPs: ["100.64.0.9"] } }))), "100.64.0.9")
    assert.isUndefined(parseTailscaleStatus("not json"))
    assert.isUndefined(parseTailscaleStatus(JSON.stringify({ Self: { TailscaleIPs: ["192.168.1.2"] } })))
  })

  it("falls back to tailnet interface addresses (100.64.0.0/10, fd7a:115c:a1e0::/48)", () => {
    const iface = (address: string, family: "IPv4" | "IPv6") => ({ address, family, netmask: "", mac: "", internal: false, cidr: null }) as never
    assert.deepStrictEqual(tailnetFromInterfaces({ eth0: [iface("192.168.1.2", "IPv4")], tailscale0: [iface("100.90.1.2", "IPv4"), iface("fd7a:115c:a1e0::7", "IPv6")] }), {
      ipv4: "100.90.1.2",
      ipv6: "fd7a:115c:a1e0::7",
      source: "interfaces"
    })
    assert.isUndefined(tailnetFromInterfaces({ eth0: [iface("100.128.0.1", "IPv4")] }))
  })

  it.live("asks the tailscale binary found on PATH", () =>
    Effect.gen(function*() {
      const dir = fakeTailscale(`[ "$1 $2" = "status --json" ] && echo '${STATUS}'`)
      assert.strictEqual((yield* detectTailnet(dir))?.dnsName, "box.tail1234.ts.net")
    }))

  it.effect("gives up on a tailscale that does not answer within 1.5 s", () =>
    Effect.gen(function*() {
      const dir = fakeTailscale("exec sleep 30")
      const fiber = yield* Effect.forkChild(detectTailnet(dir))
      yield* TestClock.adjust("1500 millis")
      const info = yield* Fiber.join(fiber)
      assert.notStrictEqual(info?.source, "tailscale")
    }))
})
