import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as AgentRules from "../../src/layers/AgentRules.ts"
import { memoryNode } from "../helpers/memoryNode.ts"
import { coreLayer } from "../helpers/testGateway.ts"

const ask = (text: string) =>
  Effect.gen(function*() {
    const agent = yield* AgentRules.make
    return yield* agent.reply({ channel: "test", from: "7", text })
  })

describe("rules agent", () => {
  it.effect("lists connected nodes with their invokable commands, and says when there are none", () =>
    Effect.gen(function*() {
      assert.include(yield* ask("/nodes"), "No node is connected")
      const node = yield* memoryNode({ client: { displayName: "den" } })
      const listing = yield* ask("/nodes")
      assert.include(listing, "den")
      assert.include(listing, "system.which")
      assert.include(listing, node.nodeId.slice(0, 12))
      assert.include(yield* ask("/status"), "1 node connected")
    }).pipe(Effect.provide(coreLayer())))

  it.effect("resolves a node by display name, calls it as agent:<channel>:<from>, and explains failures", () =>
    Effect.gen(function*() {
      const node = yield* memoryNode({ client: { displayName: "den" } })
      const fiber = yield* Effect.forkChild(ask("/run den system.which {\"name\":\"sh\"}"))
      const request = yield* node.nextInvoke
      yield* node.answer(request.payload, { path: "/bin/sh" })
      assert.include(yield* Fiber.join(fiber), "/bin/sh")
      assert.include(yield* ask("/run nowhere system.which"), "No connected node is called \"nowhere\"")
      assert.include(yield* ask("/run den system.which {oops"), "must be JSON")
      assert.include(yield* ask("/run den"), "Usage: /run")
      assert.include(yield* ask("/run den system.run {}"), "Refused")
      assert.include(yield* ask("hello there"), "/help")
      assert.include(yield* ask("/frobnicate"), "I don't know /frobnicate")
    }).pipe(Effect.provide(coreLayer())))
})
