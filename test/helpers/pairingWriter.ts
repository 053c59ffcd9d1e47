// Child process for the crash-safety test: writes pairing state through the real file store forever.
import * as Effect from "effect/Effect"
import { makeFileStore } from "../../src/fs/jsonStore.ts"
import { emptyPairingState, PairingState } from "../../src/pairing/model.ts"

const path = process.argv[2]!
const program = Effect.gen(function*() {
  const store = yield* makeFileStore(path, PairingState, emptyPairingState)
  for (let i = 0; ; i++) {
    yield* store.modify((s) => {
      const requestId = `req-${i}`
      const pending = {
        ...s.pending,
        [requestId]: {
          requestId,
          deviceId: `device-${i}`,
          publicKey: "k".repeat(43),
          clientId: "cli",
          clientMode: "cli",
          role: "operator",
          roles: ["operator"],
          scopes: ["operator.read"],
          silent: false,
          isRepair: false,
          reason: "not-paired" as const,
          ts: i
        }
      }
      return [undefined, { ...s, pending }] as const
    })
    process.stdout.write(`wrote ${i}\n`)
  }
})
Effect.runPromise(program)
