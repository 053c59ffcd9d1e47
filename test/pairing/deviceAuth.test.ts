import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { cachedPublicKeys, payloadV2, payloadV3, PUBLIC_KEY_CACHE_SIZE, verifyDeviceProof } from "../../src/protocol/deviceAuth.ts"
import { newDevice, signedConnect } from "../helpers/device.ts"

const FIXTURES = new URL("../fixtures/openclaw-2026.9.6/", import.meta.url)

describe("device signatures", () => {
  it("builds the reference v2 and v3 payloads", () => {
    const base = { deviceId: "dev-1", clientId: "openclaw-macos", clientMode: "ui", role: "operator", scopes: ["operator.admin", "operator.read"], signedAtMs: 1700000000000, nonce: "nonce-abc" }
    assert.strictEqual(payloadV2({ ...base, token: "" }), "v2|dev-1|openclaw-macos|ui|operator|operator.admin,operator.read|1700000000000||nonce-abc")
    assert.strictEqual(
      payloadV3({ ...base, token: "tok-123", platform: "  IOS  ", deviceFamily: "  iPhone  " }),
      "v3|dev-1|openclaw-macos|ui|operator|operator.admin,operator.read|1700000000000|tok-123|nonce-abc|ios|iphone"
    )
    assert.strictEqual(
      payloadV3({ deviceId: "dev-2", clientId: "openclaw-ios", clientMode: "ui", role: "operator", scopes: ["operator.read"], signedAtMs: 1700000000001, token: "", nonce: "nonce-def" }),
      "v3|dev-2|openclaw-ios|ui|operator|operator.read|1700000000001||nonce-def||"
    )
  })

  it("verifies the signatures OpenClaw's own clients recorded", () => {
    const lines = readFileSync(new URL("pairing-try.jsonl", FIXTURES), "utf8").trim().split("\n").map((l) => JSON.parse(l))
    let nonce = ""
    let checked = 0
    for (const { dir, frame } of lines) {
      const f = JSON.parse(frame)
      if (dir === "s2c" && f.event === "connect.challenge") nonce = f.payload.nonce
      if (dir === "c2s" && f.method === "connect" && f.params.device !== undefined) {
        const p = f.params
        const fields = { clientId: p.client.id, clientMode: p.client.mode, role: p.role, scopes: p.scopes, token: p.auth.token ?? p.auth.deviceToken ?? "", platform: p.client.platform, deviceFamily: p.client.deviceFamily }
        assert.isUndefined(verifyDeviceProof(p.device, fields, nonce, p.device.signedAt))
        assert.strictEqual(verifyDeviceProof(p.device, { ...fields, role: p.role === "node" ? "operator" : "node" }, nonce, p.device.signedAt), "DEVICE_AUTH_SIGNATURE_INVALID")
        checked++
      }
    }
    assert.isAtLeast(checked, 3)
  })

  it("names each failure: key, id, skew, nonce, signature", () => {
    const d = newDevice()
    const challenge = { nonce: "n-1", ts: 1_000_000 }
    const params = signedConnect(d, challenge)
    const fields = { clientId: "cli", clientMode: "cli", role: "operator", scopes: ["operator.read"], token: "", platform: "linux", deviceFamily: "Linux" }
    const check = (proof: typeof params.device, now = challenge.ts, nonce = challenge.nonce) => verifyDeviceProof(proof, fields, nonce, now)
    assert.isUndefined(check(params.device))
    assert.isUndefined(check(params.device, challenge.ts + 120_000))
    assert.strictEqual(check(params.device, challenge.ts + 120_001), "DEVICE_AUTH_SIGNATURE_EXPIRED")
    assert.strictEqual(check(params.device, challenge.ts - 120_001), "DEVICE_AUTH_SIGNATURE_EXPIRED")
    assert.strictEqual(check(params.device, challenge.ts, "n-2"), "DEVICE_AUTH_NONCE_MISMATCH")
    assert.strictEqual(check({ ...params.device, nonce: "" }, challenge.ts, ""), "DEVICE_AUTH_NONCE_REQUIRED")
    assert.strictEqual(check({ ...params.device, id: newDevice().deviceId }), "DEVICE_AUTH_DEVICE_ID_MISMATCH")
    assert.strictEqual(check({ ...params.device, publicKey: "short" }), "DEVICE_AUTH_PUBLIC_KEY_INVALID")
    assert.strictEqual(check({ ...params.device, signature: Buffer.alloc(64).toString("base64url") }), "DEVICE_AUTH_SIGNATURE_INVALID")
  })
})

describe("imported public keys", () => {
  it("are cached up to a cap, and a cached key still checks the id, the nonce and the signature", () => {
    const d = newDevice()
    const challenge = { nonce: "n-1", ts: 1_000_000 }
    const params = signedConnect(d, challenge)
    const fields = { clientId: "cli", clientMode: "cli", role: "operator", scopes: ["operator.read"], token: "", platform: "linux", deviceFamily: "Linux" }
    assert.isUndefined(verifyDeviceProof(params.device, fields, challenge.nonce, challenge.ts))
    // Now cached: every check still applies to it.
    assert.isUndefined(verifyDeviceProof(params.device, fields, challenge.nonce, challenge.ts))
    assert.strictEqual(verifyDeviceProof({ ...params.device, id: newDevice().deviceId }, fields, challenge.nonce, challenge.ts), "DEVICE_AUTH_DEVICE_ID_MISMATCH")
    assert.strictEqual(verifyDeviceProof(params.device, { ...fields, role: "node" }, challenge.nonce, challenge.ts), "DEVICE_AUTH_SIGNATURE_INVALID")
    assert.strictEqual(verifyDeviceProof(params.device, fields, "n-2", challenge.ts), "DEVICE_AUTH_NONCE_MISMATCH")
    // Another device's valid signature under this cached key fails, and the other device verifies under its own.
    const other = newDevice()
    const theirs = signedConnect(other, challenge)
    assert.strictEqual(verifyDeviceProof({ ...params.device, signature: theirs.device.signature }, fields, challenge.nonce, challenge.ts), "DEVICE_AUTH_SIGNATURE_INVALID")
    assert.isUndefined(verifyDeviceProof(theirs.device, fields, challenge.nonce, challenge.ts))
    // A flood of new keys churns the cache but never grows it past the cap.
    for (let i = 0; i < PUBLIC_KEY_CACHE_SIZE + 50; i++) {
      const key = Buffer.alloc(32, 0)
      key.writeUInt32BE(i + 1)
      verifyDeviceProof({ ...params.device, publicKey: key.toString("base64url") }, fields, challenge.nonce, challenge.ts)
    }
    assert.strictEqual(cachedPublicKeys(), PUBLIC_KEY_CACHE_SIZE)
    // An evicted key is imported again and still verifies.
    assert.isUndefined(verifyDeviceProof(params.device, fields, challenge.nonce, challenge.ts))
  })
})
