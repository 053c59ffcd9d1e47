/**
 * The gateway's log file: one JSON record a line, appended without blocking the
 * event loop (lines are queued and written by one asynchronous writer), rotated
 * when it passes its size cap (`gateway.log` → `gateway.log.1` … `.N`, the oldest
 * dropped), every file mode 0600 in a 0700 directory. If the disk is slower than
 * the gateway logs, the queue is capped and the lines over the cap are counted
 * and reported in the file instead of growing memory.
 */
import { chmod, mkdir, open, rename, rm, stat, type FileHandle } from "node:fs/promises"
import { dirname } from "node:path"

export interface LogFileOptions {
  readonly path: string
  /** Rotate when the file would pass this many bytes. */
  readonly maxBytes: number
  /** Rotated files kept (`.1` … `.keep`). */
  readonly keep: number
  /** Bytes queued for writing at most; lines beyond are dropped and counted. */
  readonly maxQueuedBytes?: number
}

export interface LogFile {
  readonly path: string
  readonly write: (line: string) => void
  /** Resolves once every queued line is written (or writing failed), then closes the file. */
  readonly close: () => Promise<void>
}

/** A rotating log file at `options.path`; opening and writing failures are reported once on stderr, never thrown. */
export const openLogFile = (options: LogFileOptions): LogFile => {
  const maxQueued = options.maxQueuedBytes ?? 4 * 1024 * 1024
  let queue: Array<string> = []
  let queuedBytes = 0
  let dropped = 0
  let handle: FileHandle | undefined
  let written = 0
  let writing: Promise<void> | undefined
  let closed = false
  let failed = false

  const fail = (what: string, error: unknown) => {
    if (!failed) process.stderr.write(`gatehouse: log file ${options.path}: ${what} failed (${String(error)}); logging to the console only\n`)
    failed = true
  }

  const openFile = async () => {
    await mkdir(dirname(options.path), { recursive: true, mode: 0o700 })
    const h = await open(options.path, "a", 0o600)
    // A file left by an older run (or created by hand) may be readable by others.
    await chmod(options.path, 0o600)
    written = (await h.stat()).size
    return h
  }

  const rotate = async () => {
    await handle?.close()
    handle = undefined
    await rm(`${options.path}.${options.keep}`, { force: true })
    for (let i = options.keep - 1; i >= 1; i--) {
      const from = `${options.path}.${i}`
      if (await stat(from).then(() => true, () => false)) await rename(from, `${options.path}.${i + 1}`)
    }
    if (options.keep > 0) await rename(options.path, `${options.path}.1`)
    else await rm(options.path, { force: true })
    handle = await openFile()
  }

  const drain = async () => {
    while ((queue.length > 0 || dropped > 0) && !failed) {
      const batch = queue
      queue = []
      queuedBytes = 0
      if (dropped > 0) {
        // No time of its own: the file takes time only from the records (the gateway reads time through Clock).
        batch.unshift(JSON.stringify({ level: "warn", subsystem: "gateway", message: `${dropped} log lines dropped: the log file could not keep up` }))
        dropped = 0
      }
      try {
        handle ??= await openFile()
        // Lines are written in chunks that fit the current file, so a file passes its cap by one line at most.
        let chunk = ""
        let chunkBytes = 0
        for (const line of batch) {
          const bytes = Buffer.byteLength(line) + 1
          if (written + chunkBytes > 0 && written + chunkBytes + bytes > options.maxBytes) {
            if (chunk !== "") await handle!.write(chunk)
            await rotate()
            chunk = ""
            chunkBytes = 0
          }
          chunk += line + "\n"
          chunkBytes += bytes
        }
        if (chunk !== "") await handle!.write(chunk)
        written += chunkBytes
      } catch (error) {
        fail("writing", error)
      }
    }
  }

  const kick = () => {
    if (writing !== undefined) return
    writing = drain().finally(() => {
      writing = undefined
      if ((queue.length > 0 || dropped > 0) && !failed) kick()
    })
  }

  return {
    path: options.path,
    write: (line) => {
      if (closed || failed) return
      const bytes = Buffer.byteLength(line) + 1
      if (queuedBytes + bytes > maxQueued) {
        dropped++
        return kick()
      }
      queue.push(line)
      queuedBytes += bytes
      kick()
    },
    close: async () => {
      closed = true
      while (writing !== undefined) await writing
      await handle?.close().catch(() => undefined)
      handle = undefined
    }
  }
}
