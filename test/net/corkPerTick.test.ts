import { assert, describe, it } from "@effect/vitest"
import { corkPerTick } from "../../src/net/corkPerTick.ts"

const fakeSocket = () => {
  const s = { corks: 0, uncorks: 0, writableLength: 0, cork: () => void s.corks++, uncork: () => void s.uncorks++ }
  return s
}

describe("write batching per tick", () => {
  it("corks once for all the frames of a tick and uncorks when the tick's work is done", () => {
    const socket = fakeSocket()
    const deferred: Array<() => void> = []
    const batch = corkPerTick(socket, 1024, (f) => void deferred.push(f))
    for (let i = 0; i < 16; i++) {
      batch.hold()
      socket.writableLength += 10
      batch.wrote()
    }
    assert.deepStrictEqual([socket.corks, socket.uncorks, deferred.length], [1, 0, 1])
    deferred.shift()!()
    assert.deepStrictEqual([socket.corks, socket.uncorks], [1, 1])
    // The next tick's frames are a batch of their own.
    batch.hold()
    assert.deepStrictEqual([socket.corks, deferred.length], [2, 1])
  })

  it("writes a batch at once when it holds the limit, and the tick's end then uncorks nothing more", () => {
    const socket = fakeSocket()
    const deferred: Array<() => void> = []
    const batch = corkPerTick(socket, 1024, (f) => void deferred.push(f))
    batch.hold()
    socket.writableLength = 1023
    batch.wrote()
    assert.strictEqual(socket.uncorks, 0)
    socket.writableLength = 1024
    batch.wrote()
    assert.strictEqual(socket.uncorks, 1)
    // A frame later in the same tick starts a new batch; each cork is undone exactly once.
    socket.writableLength = 0
    batch.hold()
    for (const f of deferred) f()
    assert.deepStrictEqual([socket.corks, socket.uncorks], [2, 2])
  })

  it("uncorks by default at the end of the tick", async () => {
    const socket = fakeSocket()
    const batch = corkPerTick(socket, 1024)
    batch.hold()
    batch.hold()
    assert.strictEqual(socket.uncorks, 0)
    await new Promise<void>((resolve) => process.nextTick(resolve))
    assert.deepStrictEqual([socket.corks, socket.uncorks], [1, 1])
  })
})
