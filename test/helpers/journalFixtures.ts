/** Fixtures of the journal store tests: a policy that never compacts, and a paired device numbered `n`. */
import type { CompactionPolicy } from "../../src/fs/journalStore.ts"
import type { PairedDevice } from "../../src/pairing/model.ts"

/** Never folds the journal into the snapshot (so a test sees every line). */
export const noCompaction: CompactionPolicy = { ratio: 1e9, minBytes: 1e9 }

/** A paired operator device whose token and times are numbered `n`. */
export const device = (deviceId: string, n: number): PairedDevice => ({
  deviceId,
  publicKey: "k".repeat(43),
  roles: ["operator"],
  approvedScopes: ["operator.read"],
  tokens: { operator: { token: `t-${n}`, role: "operator", scopes: ["operator.read"], createdAtMs: n } },
  approvedVia: "owner",
  createdAtMs: n,
  approvedAtMs: n
})
