/**
 * Crash-safe file writes: write a temp file beside the target, fsync it, rename it
 * over the target, fsync the directory. A reader sees the old or the new content.
 */
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import { mkdir, open, rename, rm } from "node:fs/promises"
import { dirname } from "node:path"

/** Writes `data` to `path` atomically with the given mode (0600 by default). */
export const writeFileAtomic = (path: string, data: string, mode = 0o600): Effect.Effect<void, Error> =>
  Effect.tryPromise({
    try: async () => {
      const dir = dirname(path)
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`
      const handle = await open(tmp, "w", mode)
      try {
        await handle.writeFile(data, "utf8")
        await handle.sync()
      } finally {
        await handle.close()
      }
      try {
        await rename(tmp, path)
      } catch (e) {
        await rm(tmp, { force: true })
        throw e
      }
      const dirHandle = await open(dir, "r")
      try {
        await dirHandle.sync()
      } finally {
        await dirHandle.close()
      }
    },
    catch: (e) => e instanceof Error ? e : new Error(String(e))
  })
