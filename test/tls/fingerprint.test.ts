import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { colonForm, fingerprintOfPem, normalizeFingerprint, pinEndpoint } from "../../src/tls/fingerprint.ts"

const RUNS = 300
const Byte = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 }))
const Digest = Schema.Array(Byte).check(Schema.isMinLength(32), Schema.isMaxLength(32))
const Casing = Schema.Array(Schema.Boolean).check(Schema.isMinLength(64), Schema.isMaxLength(64))

const hexOf = (bytes: ReadonlyArray<number>) => bytes.map((b) => b.toString(16).padStart(2, "0")).join("")
const recase = (text: string, upper: ReadonlyArray<boolean>) => {
  let i = 0
  return text.replace(/[0-9a-f]/g, (c) => (upper[i++ % upper.length] ? c.toUpperCase() : c))
}

describe("fingerprint parsing", () => {
  let runs = 0
  afterAll(() => {
    assert.strictEqual(runs, RUNS)
  })

  it.prop(
    "hex and openssl's colon form, in any case, normalise to the same 64 lowercase hex",
    [Digest, Casing],
    ([bytes, upper]) => {
      runs++
      const canonical = hexOf(bytes)
      const colon = colonForm(canonical)
      for (const written of [canonical, canonical.toUpperCase(), recase(canonical, upper), colon, colon.toLowerCase(), recase(colon.toLowerCase(), upper), `sha256 Fingerprint=${colon}`, `  ${canonical}\n`]) {
        assert.strictEqual(normalizeFingerprint(written), canonical, written)
      }
      assert.strictEqual(colonForm(canonical).replace(/:/g, "").toLowerCase(), canonical)
      assert.isUndefined(normalizeFingerprint(canonical.slice(2)))
      assert.isUndefined(normalizeFingerprint(canonical + "0"))
      assert.isUndefined(normalizeFingerprint(colon.slice(3)))
      assert.isUndefined(normalizeFingerprint(canonical.slice(1) + "g"))
      assert.isUndefined(normalizeFingerprint(colon.replace(":", "")))
    },
    { arbitrary: { runs: RUNS } }
  )

  it("equals openssl x509 -fingerprint -sha256 with the colons removed", () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-fp-"))
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=fp-test", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" })
    const printed = execFileSync("openssl", ["x509", "-in", join(dir, "cert.pem"), "-noout", "-fingerprint", "-sha256"], { encoding: "utf8" })
    const fromOpenssl = printed.trim().split("=")[1]!.replace(/:/g, "").toLowerCase()
    assert.strictEqual(fingerprintOfPem(readFileSync(join(dir, "cert.pem"))), fromOpenssl)
    assert.strictEqual(normalizeFingerprint(printed), fromOpenssl)
  })

  it("keys pins by host and port, with the scheme's default port", () => {
    assert.strictEqual(pinEndpoint("wss://GW.example/"), "gw.example:443")
    assert.strictEqual(pinEndpoint("wss://[::1]:18789"), "[::1]:18789")
    assert.strictEqual(pinEndpoint("wss://10.0.0.2:18789/ws"), "10.0.0.2:18789")
  })
})
