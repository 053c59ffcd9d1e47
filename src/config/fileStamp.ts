/**
 * What `stat` says about a set of files, to tell "unchanged since it was read"
 * without reading: device, inode, size, and modification and change times in
 * nanoseconds, or that the file is missing. A stamp is trusted only when every
 * file's change time lies well before the read began, as git treats a "racy"
 * index entry: file-system clocks are coarse, so a write landing in the same
 * tick as the read could otherwise keep the same stamp.
 */
import { statSync } from "node:fs"

/**
 * How long before a read a file must have last changed for its stamp to stand for its content: more than the
 * coarsest timestamps in use (FAT's 2 s; review: with 1 s, a same-size token rewrite on vfat went unseen until the
 * watcher's next 2 s poll). A file system whose clock runs behind the gateway's by more than this can still hide
 * a rewrite from the per-connection check; the watcher's poll re-reads every file every 2 s regardless.
 */
export const SETTLE_MS = 3000

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
