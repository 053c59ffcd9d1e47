import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { REDACTED, redactConfig } from "../../src/config/redact.ts"

// A secret of the kind that ends up in configs: letters and digits, long enough to be a credential.
const Secret = Schema.String.check(Schema.isPattern(/^[A-Za-z][A-Za-z0-9]{18,40}[0-9]$/))
const Name = Schema.String.check(Schema.isPattern(/^[a-z][a-zA-Z]{0,12}$/))

const placements = (secret: string, name: string): ReadonlyArray<unknown> => [
  { [name]: { url: `https://user:${secret}@example.com/x` } },
  { [name]: `https://api.example.com/v1?${name}=1&api_key=${secret}` },
  { [name]: `https://hooks.slack.com/services/T000/B000/${secret}` },
  { [name]: `https://api.telegram.org/bot123456789:${secret}AAAAAAAAAAAAAAAA/getUpdates` },
  { channels: { [name]: { env: { [name.toUpperCase()]: secret } } } },
  { [name]: `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n` },
  { [name]: [`sk-${secret}`] },
  { [name]: `postgres://db.internal/x?sslmode=require&password=${secret}` }
]

describe("config redaction by shape", () => {
  it.prop("no secret survives, whatever the key it sits under is called", { secret: Secret, name: Name }, ({ name, secret }) => {
    for (const doc of placements(secret, name)) {
      const out = JSON.stringify(redactConfig(doc))
      assert.notInclude(out, secret, out)
      assert.include(out, REDACTED)
    }
  }, { arbitrary: { runs: 200 } })

  it("keeps what is not a secret readable", () => {
    assert.deepStrictEqual(redactConfig({ gateway: { port: 18789, bind: "loopback" }, url: "https://example.com/docs/page", env: {} }), {
      gateway: { port: 18789, bind: "loopback" },
      url: "https://example.com/docs/page",
      env: {}
    })
    assert.deepStrictEqual(redactConfig({ hook: "https://hooks.example.com/services/abc" }), { hook: "https://hooks.example.com/services/abc" })
  })
})
