import { assert, describe, it } from "@effect/vitest"
import { clientKey } from "../../src/net/clientKey.ts"
import { canonicalIp, isLoopbackIp } from "../../src/net/ip.ts"

describe("IPv4-mapped spellings", () => {
  it("every spelling of an IPv4-mapped address is the IPv4 client (a forwarded hop cannot mint a fresh client by respelling)", () => {
    for (const spelling of ["203.0.113.4", "::ffff:203.0.113.4", "::FFFF:cb00:7104", "0:0:0:0:0:ffff:cb00:7104", "0:0:0:0:0:FFFF:203.0.113.4", "0000::ffff:cb00:7104"]) {
      assert.strictEqual(canonicalIp(spelling), "203.0.113.4", spelling)
      assert.strictEqual(clientKey(spelling), "203.0.113.4", spelling)
    }
    assert.isTrue(isLoopbackIp("::ffff:7f00:1"))
    assert.strictEqual(clientKey("::ffff:7f0a:0b0c"), "loopback")
    assert.strictEqual(canonicalIp("1::ffff:cb00:7104"), "1::ffff:cb00:7104")
    assert.strictEqual(clientKey("2001:0DB8:0007:0008::9"), clientKey("2001:db8:7:8:ffff::1"))
  })
})
