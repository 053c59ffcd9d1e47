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
})
