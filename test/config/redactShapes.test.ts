import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { REDACTED, redactConfig, redactText } from "../../src/config/redact.ts"

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

describe("log text redaction by shape", () => {
  const inText = (secret: string, name: string): ReadonlyArray<string> => [
    `connecting to postgres://app:${secret}@db.internal:5432/x (attempt 2)`,
    `GET /hooks/in?${name}=1&token=${secret} 200`,
    `calling https://api.example.com/v1?api_key=${secret}&q=1 failed`,
    `header Authorization: Bearer ${secret} sent`,
    `retrying with password=${secret}; last error: refused`,
    `key loaded: -----BEGIN PRIVATE KEY-----\\n${secret}\\n-----END PRIVATE KEY----- from disk`,
    `openai key sk-${secret} rejected`,
    `getUpdates https://api.telegram.org/bot123456789:${secret}AAAAAAAAAAAAAAAA/getUpdates timed out`,
    // Shapes an adversarial review found surviving: JSON, lowercase schemes, other schemes, camelCase keys, spaces.
    `connect params {"token":"${secret}","role":"operator"} refused`,
    `header authorization: bearer ${secret} sent`,
    `header Authorization: Token ${secret} sent`,
    `connect with deviceToken=${secret} refused`,
    `connect with bootstrapToken: ${secret} refused`,
    `retrying with password = ${secret} refused`,
    `request Cookie: ${secret} sent`,
    // Shapes a third review found surviving.
    `env AWS_SECRET_ACCESS_KEY=${secret} set`,
    `loaded private_key=${secret} from disk`,
    `using credentials=${secret} now`,
    `config a_very_long_configuration_prefix_name_token=${secret} read`,
    `connect {"password":"ab,${secret}"} refused`,
    `connect {"password":"correct horse ${secret}"} refused`,
    `ran gatehouse --password ${secret} ok`
  ]

  it.prop("no secret survives in a log line, and the words around it do", { secret: Secret, name: Name }, ({ name, secret }) => {
    for (const text of inText(secret, name)) {
      const out = redactText(text)
      assert.notInclude(out, secret, out)
      assert.include(out, REDACTED)
      // The first and last words of the line are kept: the record stays readable.
      assert.strictEqual(out.split(" ")[0], text.split(" ")[0])
      assert.strictEqual(out.split(" ").at(-1), text.split(" ").at(-1))
    }
  }, { arbitrary: { runs: 200 } })

  it("leaves lines without secrets exactly as they were", () => {
    for (const text of [
      "gatehouse 0.1.0 listening on ws://127.0.0.1:18789 pid=4242 auth=token",
      "device pairing auto-approved (direct loopback) device=a4cee7ef3d3726fd213a30da5079e08d03b90a751c2d16b1df7d8b4706c546ae role=operator",
      "channel telegram: the channel stopped; restarting in 2 s",
      "3 token checks failed for 203.0.113.7"
    ]) assert.strictEqual(redactText(text), text)
  })
})

describe("log text redaction stays linear", () => {
  // Inputs built to make a backtracking pattern retry from every position (hyphenated words, near-URLs,
  // keys without values). Eight times the text must cost about eight times the work: a quadratic
  // pattern costs sixty-four times, far past the bound. Best of three runs each, to ride out noise.
  const units = ["a-", "-a", "token-", "a://", "\"token\"", "x=token:", "Bearer ", "?token=&", "a.b+c-", "eyJ-", "eyJa.", "123456:", "--password ", "\"password\":\""]
  const cost = (text: string) => {
    let best = Number.POSITIVE_INFINITY
    for (let i = 0; i < 3; i++) {
      const t = performance.now()
      redactText(text)
      best = Math.min(best, performance.now() - t)
    }
    return Math.max(best, 0.05)
  }
  it("costs about eight times as much for eight times the text, for every adversarial unit", () => {
    for (const unit of units) {
      const small = cost(unit.repeat(Math.ceil(4_000 / unit.length)))
      const large = cost(unit.repeat(Math.ceil(32_000 / unit.length)))
      assert.isBelow(large / small, 30, `${JSON.stringify(unit)}: ${small.toFixed(2)} ms → ${large.toFixed(2)} ms`)
    }
  })
})
