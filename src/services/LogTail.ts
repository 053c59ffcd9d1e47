/**
 * LogTail: the gateway's recent log lines for `logs.tail` (and `gatehouse logs`,
 * `openclaw logs`), read with a cursor so a follower gets each line once. Every
 * line is one JSON record (`time`, `level`, `subsystem`, `message`), already
 * escaped and with secrets redacted by shape.
 *
 * Layers: `LogTailLive.layer` (a bounded ring fed by the gateway's logger, plus
 * the rotating log file under the state dir) and `LogTailLive.layerMemory` (the
 * ring only, for tests and embedders that keep their own files).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { LogSlice } from "../observability/logRing.ts"

export type { LogSlice } from "../observability/logRing.ts"

/** A `logs.tail` request: lines after `cursor` (the newest when absent), at most `limit` lines and `maxBytes` bytes. */
export interface TailParams {
  readonly cursor?: number | undefined
  readonly limit?: number | undefined
  readonly maxBytes?: number | undefined
}

export interface LogTailShape {
  /** The log file the lines are also written to, when there is one. */
  readonly file: string | undefined
  readonly tail: (params: TailParams) => Effect.Effect<LogSlice>
}

export class LogTail extends Context.Service<LogTail, LogTailShape>()("gatehouse/services/LogTail") {}
