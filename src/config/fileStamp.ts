/**
 * What `stat` says about a set of files, to tell "unchanged since it was read"
 * without reading: device, inode, size, and modification and change times in
 * nanoseconds, or that the file is missing. A stamp is trusted only when every
 * file's change time lies well before the read began, as git treats a "racy"
 * index entry: file-system clocks are coarse, so a write landing in the same
 * tick as the read could otherwise keep the same stamp.
 */
import { statSync } from "node:fs"

/** How long before a read a file must have last changed for its stamp to stand for its content. */
export const SETTLE_MS = 1000

export interface FileStamp {
  /** One entry per file, comparable with `===`. */
  readonly key: string
  /** Whether every file was last changed at least SETTLE_MS before `readAtMs`. */
  readonly settled: boolean
}

/** Stamps the files as they are now, for a read starting at `readAtMs` (wall clock); undefined when a stat fails. */
export const stampFiles = (paths: ReadonlyArray<string>, readAtMs: number): FileStamp | undefined => {
  const before = BigInt(Math.floor(readAtMs - SETTLE_MS)) * 1_000_000n
  let key = ""
  let settled = true
  for (const path of paths) {
    let s
    try {
      s = statSync(path, { bigint: true, throwIfNoEntry: false })
    } catch {
      return undefined
    }
    if (s === undefined) {
      key += "-|"
      continue
    }
    key += `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}|`
    if (s.ctimeNs >= before || s.mtimeNs >= before) settled = false
  }
  return { key, settled }
}
