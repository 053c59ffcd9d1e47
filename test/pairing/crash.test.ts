import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { PairingState } from "../../src/pairing/model.ts"
import { tempHome } from "../helpers/testGateway.ts"

const writer = new URL("../helpers/pairingWriter.ts", import.meta.url).pathname
const decode = Schema.decodeUnknownResult(Schema.fromJsonString(PairingState))

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
  it("survives a writer killed with SIGKILL mid-write: the file holds the old or the new state", async () => {
    const path = join(tempHome(), "devices", "pairing.json")
    for (const after of [5, 37, 80]) {
      const reported = await killAfter(path, after)
      const state = decode(readFileSync(path, "utf8"))
      assert.isTrue(Result.isSuccess(state), "the pairing file must stay readable")
      if (Result.isSuccess(state)) {
        const count = Object.keys(state.success.pending).length
        // Every reported write is on disk; at most the one in flight may be too.
        assert.isAtLeast(count, reported + 1)
        assert.isAtMost(count, reported + 2)
      }
    }
  }, 60_000)
})
