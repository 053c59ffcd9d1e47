// Child process for the crash-safety test: writes pairing state through the real file store forever.
import * as Effect from "effect/Effect"
import { makeJournalStore } from "../../src/fs/journalStore.ts"
import { emptyPairingState, PairingState } from "../../src/pairing/model.ts"

const path = process.argv[2]!
const program = Effect.gen(function*() {
  // A small compaction threshold so kills land in appends, compactions and journal resets alike.
  const store = yield* makeJournalStore(path, PairingState, emptyPairingState, { ratio: 2, minBytes: 4096 })
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
Effect.runPromise(Effect.scoped(program))
