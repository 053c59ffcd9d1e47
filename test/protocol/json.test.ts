import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { absentWhenUndefined, JsonValue } from "../../src/protocol/json.ts"

const Result = Schema.Struct({ id: Schema.String, name: absentWhenUndefined(Schema.String), payload: JsonValue })
const encode = (value: typeof Result.Type) => JSON.stringify(Schema.encodeSync(Schema.toCodecJson(Result))(value))
const decode = Schema.decodeUnknownSync(Schema.toCodecJson(Result))

describe("result field schemas", () => {
  it("send a field held as undefined as absent, never as null", () => {
    assert.strictEqual(encode({ id: "a", name: undefined, payload: null }), `{"id":"a","payload":null}`)
    assert.strictEqual(encode({ id: "a", name: "desk", payload: null }), `{"id":"a","name":"desk","payload":null}`)
    assert.notProperty(decode({ id: "a", payload: 1 }), "name")
  })

  it("pass open-ended values through as JSON, dropping undefined object fields", () => {
    assert.strictEqual(encode({ id: "a", payload: { ok: true, gone: undefined, list: [1, undefined], nothing: null } }), `{"id":"a","payload":{"ok":true,"list":[1,null],"nothing":null}}`)
    assert.deepStrictEqual(decode({ id: "a", payload: { any: ["thing"] } }).payload, { any: ["thing"] })
  })
})
