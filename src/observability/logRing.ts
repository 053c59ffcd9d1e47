/**
 * The gateway's recent log lines in memory, for `logs.tail`: a ring capped in
 * lines and in bytes, addressed by a cursor that counts every byte ever appended
 * (a line plus its newline), as OpenClaw's cursor counts bytes of its log file.
 * A client keeps the cursor of its last answer and asks for what came after it;
 * a cursor the ring has already dropped, or one from before a restart, is
 * answered from the oldest line kept with `reset`.
 */

/** What `logs.tail` answers (OpenClaw's shape, without `file`). */
export interface LogSlice {
  /** Pass back as `cursor` to get only later lines. */
  readonly cursor: number
  /** Bytes appended since start (the cursor of the newest line's end). */
  readonly size: number
  readonly lines: ReadonlyArray<string>
  /** Lines were lost: the byte budget cut the answer short, or the ring dropped lines after the cursor. */
  readonly truncated: boolean
  /** The cursor given was not one this ring can continue from (dropped, or from a previous run). */
  readonly reset: boolean
}

export interface TailRequest {
  readonly cursor?: number | undefined
  readonly limit: number
  readonly maxBytes: number
}

export interface LogRing {
  readonly append: (line: string) => void
  readonly tail: (request: TailRequest) => LogSlice
}

/** A ring keeping at most `maxLines` lines and `maxBytes` bytes (UTF-8, newline included). */
export const makeLogRing = (caps: { readonly maxLines: number; readonly maxBytes: number }): LogRing => {
  // Parallel arrays used as a queue; `head` is the index of the oldest kept line.
  let lines: Array<string> = []
  let ends: Array<number> = []
  let sizes: Array<number> = []
  let head = 0
  let keptBytes = 0
  let size = 0
  const drop = () => {
    keptBytes -= sizes[head]!
    head++
    // Compact once half the arrays are dead, so memory stays bounded by the caps.
    if (head > 1024 && head * 2 > lines.length) {
      lines = lines.slice(head)
      ends = ends.slice(head)
      sizes = sizes.slice(head)
      head = 0
    }
  }
  return {
    append: (line) => {
      const bytes = Buffer.byteLength(line) + 1
      size += bytes
      lines.push(line)
      ends.push(size)
      sizes.push(bytes)
      keptBytes += bytes
      while (lines.length - head > caps.maxLines || (keptBytes > caps.maxBytes && lines.length - head > 1)) drop()
    },
    tail: ({ cursor, limit, maxBytes }) => {
      const oldestStart = head < lines.length ? ends[head]! - sizes[head]! : size
      const given = cursor !== undefined && Number.isFinite(cursor) ? Math.max(0, Math.floor(cursor)) : undefined
      const reset = given !== undefined && (given > size || given < oldestStart)
      // First line to consider: the one after the cursor, else the oldest kept.
      let from = head
      if (given !== undefined && !reset) {
        let lo = head
        let hi = lines.length
        while (lo < hi) {
          const mid = (lo + hi) >> 1
          if (ends[mid]! <= given) lo = mid + 1
          else hi = mid
        }
        from = lo
      }
      let start = lines.length
      let bytes = 0
      let cut = false
      while (start > from && lines.length - start < limit) {
        if (bytes + sizes[start - 1]! > maxBytes) {
          cut = true
          break
        }
        start--
        bytes += sizes[start]!
      }
      // `limit` is a request for the newest lines; only the byte budget and lines the ring dropped count as lost.
      const truncated = cut || (given !== undefined && given < oldestStart)
      return { cursor: size, size, lines: lines.slice(start), truncated, reset }
    }
  }
}
