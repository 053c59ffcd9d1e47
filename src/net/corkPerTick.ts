/**
 * Write batching for one socket: the answers written while one read's frames are
 * handled leave in one write (one syscall) instead of one each. The socket is
 * corked at the first frame of a tick and uncorked when the tick ends, or as soon
 * as the bytes held back reach a limit, so a batch never holds much.
 */

/** The part of a `net.Socket` batching needs. */
export interface CorkableSocket {
  cork(): void
  uncork(): void
  readonly writableLength: number
}

export interface CorkPerTick {
  /** Call for each incoming frame, before handling it: holds this tick's writes back. */
  readonly hold: () => void
  /** Call after each write: writes the batch at once when it holds `maxHeldBytes` or more. */
  readonly wrote: () => void
}

/** Batches `socket`'s writes per tick; `defer` runs the uncork when the tick's work is done. */
export const corkPerTick = (
  socket: CorkableSocket,
  maxHeldBytes: number,
  defer: (f: () => void) => void = (f) => process.nextTick(f)
): CorkPerTick => {
  let corked = false
  const uncork = () => {
    if (!corked) return
    corked = false
    socket.uncork()
  }
  return {
    hold: () => {
      if (corked) return
      corked = true
      socket.cork()
      defer(uncork)
    },
    wrote: () => {
      if (corked && socket.writableLength >= maxHeldBytes) uncork()
    }
  }
}
