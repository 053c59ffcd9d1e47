import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const created = new Set<string>()

/** A new temp dir, removed when the test file ends (test/setup.ts): they hold tokens and keys. */
export const tempDir = (prefix = "gatehouse-test-"): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  created.add(dir)
  return dir
}

/** Removes every temp dir made so far. */
export const removeTempDirs = () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  created.clear()
}
