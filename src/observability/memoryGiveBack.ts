/**
 * When the daemon gives memory back to the system. V8 keeps what a burst of load
 * made it commit (a young generation grown to 32 MiB semi-spaces, fragmented
 * old-space pages, pooled free pages) long after the load has gone, and its own
 * memory reducer waits ~8 s of idleness first. The daemon asks for a
 * memory-reducing collection itself once the loop is quiet and the resident set
 * has grown well past its quiet low-water mark, and once right after start-up,
 * whose garbage is the first thing to give back. The decision is pure; the
 * LayerMemoryGiveBack layer samples and acts.
 */

/** What the daemon remembers between samples. */
export interface GiveBackState {
  /** The lowest resident set seen while quiet (bytes), reset to what is left after each give-back; none before the first. */
  readonly lowWaterRss: number | undefined
  /** When it last gave memory back (ms), if ever. */
  readonly lastAtMs: number | undefined
  /** When the current run of quiet samples began (ms); none while busy. */
  readonly quietSinceMs: number | undefined
}

/** One sample: the clock, the resident set (bytes) and the event loop's utilization since the last sample (0..1). */
export interface MemorySample {
  readonly nowMs: number
  readonly rss: number
  readonly utilization: number
}

/** How often the daemon samples: often enough to act within about a second of the load going. */
export const SAMPLE_EVERY_MS = 500
/**
 * Loop utilization below which the gateway counts as quiet, so the collection (tens of ms) delays nobody: an
 * idle gateway with its nodes connected is near 0, a steady 1000 node.invoke/s already well above.
 */
export const QUIET_UTILIZATION = 0.05
/** Growth over the low-water mark worth a collection: 8 MiB, or a tenth of the mark when that is more. */
export const MIN_GROWTH_BYTES = 8 * 1024 * 1024
/** At most one collection this often, so alternating bursts and pauses cannot make it run back to back. */
export const MIN_INTERVAL_MS = 3000
/**
 * How long the loop must have stayed quiet: the collection holds the loop (hundreds of ms on a large heap), so a
 * short lull between two bursts of requests must not look like the load has gone.
 */
export const QUIET_FOR_MS = 5000

/** The state before the first sample. */
export const initialState: GiveBackState = { lowWaterRss: undefined, lastAtMs: undefined, quietSinceMs: undefined }

/**
 * Whether to give memory back now: at the first sample (start-up is over by then; its tail may still keep the loop
 * a little busy, and this happens once), then only once quiet for QUIET_FOR_MS, at most once per interval, and
 * once grown.
 */
export const shouldGiveBack = (state: GiveBackState, sample: MemorySample): boolean =>
  state.lowWaterRss === undefined ||
  (sample.utilization < QUIET_UTILIZATION &&
    state.quietSinceMs !== undefined && sample.nowMs - state.quietSinceMs >= QUIET_FOR_MS &&
    (state.lastAtMs === undefined || sample.nowMs - state.lastAtMs >= MIN_INTERVAL_MS) &&
    sample.rss - state.lowWaterRss >= Math.max(MIN_GROWTH_BYTES, state.lowWaterRss / 10))

/** The state after a sample: `rssAfter` is what is resident after giving back, when it did. */
export const next = (state: GiveBackState, sample: MemorySample, rssAfter: number | undefined): GiveBackState => {
  const quiet = sample.utilization < QUIET_UTILIZATION
  const quietSinceMs = quiet ? state.quietSinceMs ?? sample.nowMs : undefined
  if (rssAfter !== undefined) return { lowWaterRss: rssAfter, lastAtMs: sample.nowMs, quietSinceMs }
  const lowWaterRss = quiet && state.lowWaterRss !== undefined ? Math.min(state.lowWaterRss, sample.rss) : state.lowWaterRss
  return { ...state, lowWaterRss, quietSinceMs }
}
