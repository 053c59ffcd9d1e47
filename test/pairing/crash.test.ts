import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { makeJournalStore } from "../../src/fs/journalStore.ts"
import { emptyPairingState, PairingState } from "../../src/pairing/model.ts"
import { tempHome } from "../helpers/testGateway.ts"

const writer = new URL("../helpers/pairingWriter.ts", import.meta.url).pathname

// Starts the writer, lets it complete `after` writes, then SIGKILLs it mid-stream; resolves with the last write it reported.
const killAfter = (path: string, after: number) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [writer, path], { stdio: ["ignore", "pipe", "pipe"] })
    let last = -1
    let out = ""
    child.stdout.on("data", (d) => {
      out += d
      const m = [...out.matchAll(/wrote (\d+)/g)].at(-1)
      if (m) last = Number(m[1])
      if (last >= after && child.exitCode === null) child.kill("SIGKILL")
    })
    child.once("exit", (_code, signal) => (signal === "SIGKILL" ? resolve(last) : reject(new Error(`writer exited without being killed: ${out}`))))
  })

describe("pairing state on disk", () => {
  it("survives a writer killed with SIGKILL mid-write: reopening holds every reported change", async () => {
    const path = join(tempHome(), "devices", "pairing.json")
    // The writer restarts from what it reopens, so later rounds also cover a journal left by a killed writer.
    for (const after of [5, 37, 80]) {
      const reported = await killAfter(path, after)
      const state = await Effect.runPromise(Effect.scoped(Effect.flatMap(makeJournalStore(path, PairingState, emptyPairingState), (s) => s.get)))
      const count = Object.keys(state.pending).length
      // Every reported write is on disk; at most the one in flight may be too.
      assert.isAtLeast(count, reported + 1)
      assert.isAtMost(count, reported + 2)
    }
  }, 60_000)
})
