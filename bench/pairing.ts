// Micro-benchmark (not a test): pairs N never-seen devices and nodes one after another through the
// journal-backed file stores, the way the gateway admits a connecting node with autoApproveLocal
// (device `admit` with silent approval, then node `reconcile` with silent approval), and prints the
// milliseconds (wall, and CPU of this process) per 1000 pairings for each successive block of 1000,
// so O(n) work per change shows up as a rising cost; the wall time includes two fsyncs per pairing.
// Profile with: node --cpu-prof --cpu-prof-dir=.tmp/prof bench/pairing.ts
//   node bench/pairing.ts [--n 2000,5000]
import * as Effect from "effect/Effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { parseArgs } from "node:util"
import { makeJournalStore } from "../src/fs/journalStore.ts"
import { devicePairingStore, nodePairingStore } from "../src/layers/pairingOnBackend.ts"
import { emptyNodePairingState, NodePairingState } from "../src/nodes/pairingModel.ts"
import { emptyPairingState, PairingState } from "../src/pairing/model.ts"
import { documentBackend } from "../src/pairing/stateBackend.ts"

const { values: opts } = parseArgs({ options: { n: { type: "string", default: "2000,5000" } } })

const run = (n: number) =>
  Effect.gen(function*() {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-pairing-"))
    try {
      const devices = devicePairingStore(documentBackend(yield* makeJournalStore(join(dir, "devices", "pairing.json"), PairingState, emptyPairingState)))
      const nodes = nodePairingStore(documentBackend(yield* makeJournalStore(join(dir, "nodes", "pairing.json"), NodePairingState, emptyNodePairingState)))
      const blocks: Array<number> = []
      const cpuBlocks: Array<number> = []
      let c0 = process.cpuUsage()
      let t0 = performance.now()
      const start = t0
      for (let i = 0; i < n; i++) {
        const id = `device-${i.toString(16).padStart(8, "0")}`
        yield* devices.admit({
          deviceId: id,
          publicKey: `key-${i}`,
          role: "node",
          scopes: [],
          clientId: "node-host",
          clientMode: "node",
          platform: "linux",
          remoteIp: "127.0.0.1"
        }, true)
        yield* nodes.reconcile({ nodeId: id, platform: "linux", caps: ["system"], commands: ["system.run"], remoteIp: "127.0.0.1" }, true)
        if ((i + 1) % 1000 === 0) {
          const t = performance.now()
          blocks.push(t - t0)
          t0 = t
          const c = process.cpuUsage()
          cpuBlocks.push((c.user - c0.user + c.system - c0.system) / 1000)
          c0 = c
        }
      }
      const total = performance.now() - start
      console.log(
        `n=${n}: ${(total / n * 1000).toFixed(0)} ms per 1000 overall; per successive 1000: ` +
          blocks.map((b) => b.toFixed(0)).join(", ") + "; CPU ms per successive 1000: " +
          cpuBlocks.map((b) => b.toFixed(0)).join(", ")
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

for (const n of opts.n.split(",").map(Number)) await Effect.runPromise(Effect.scoped(run(n)))
