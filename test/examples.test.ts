import { assert, describe, it } from "@effect/vitest"
import { run } from "./helpers/processes.ts"
import { tempHome } from "./helpers/testGateway.ts"

describe("examples", () => {
  it("embed.ts runs the gateway inside another Effect program and calls it", async () => {
    const r = await run([], { HOME: tempHome() }, new URL("../examples/embed.ts", import.meta.url).pathname)
    assert.strictEqual(r.code, 0, r.stderr)
    assert.match(r.stdout, /embedded gateway listening on ws:\/\/127\.0\.0\.1:\d+/)
    assert.include(r.stdout, "health: OK")
  })

  it("swap-layers.ts runs a gateway with its own pairing store, rate limit and Auth", async () => {
    const r = await run([], { HOME: tempHome() }, new URL("../examples/swap-layers.ts", import.meta.url).pathname)
    assert.strictEqual(r.code, 0, r.stderr)
    assert.match(r.stdout, /gateway with swapped layers listening on ws:\/\/127\.0\.0\.1:\d+/)
    assert.include(r.stdout, "kiosk health: OK")
    assert.include(r.stdout, "kiosk device.pair.list: refused (missing scope: operator.pairing)")
    assert.include(r.stdout, "paired devices in the in-memory store: 0")
  })
})
