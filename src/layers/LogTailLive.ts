/**
 * LogTail on a bounded in-memory ring fed by the gateway's own logger: the layer
 * adds a logger to the ones already installed (the console's), so every record
 * the gateway logs also lands, redacted and escaped, in the ring and (with
 * `layer`) in the rotating log file `<stateDir>/logs/gateway.log` (or
 * `logging.file`).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { join } from "node:path"
import { openLogFile } from "../observability/logFile.ts"
import { makeLogRing } from "../observability/logRing.ts"
import { recordLine } from "../observability/logRecord.ts"
import { safeMessages } from "../observability/safeLogger.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { LogTail } from "../services/LogTail.ts"

/** What the ring keeps: enough for `openclaw logs`' default 200 lines many times over, at most 2 MiB. */
export const RING_MAX_LINES = 5000
export const RING_MAX_BYTES = 2 * 1024 * 1024
/** The log file rotates at 10 MiB and keeps 5 old files (60 MiB on disk at most). */
export const FILE_MAX_BYTES = 10 * 1024 * 1024
export const FILE_KEEP = 5

// OpenClaw's defaults and caps for a `logs.tail` request.
const DEFAULT_LIMIT = 500
const MAX_LIMIT = 5000
const DEFAULT_MAX_BYTES = 250_000
const MAX_BYTES = 1_000_000

const clamp = (value: number | undefined, fallback: number, max: number) =>
  Math.max(1, Math.min(max, Math.floor(value ?? fallback)))

const make = (file: string | undefined) =>
  Effect.gen(function*() {
    const ring = makeLogRing({ maxLines: RING_MAX_LINES, maxBytes: RING_MAX_BYTES })
    const out = file === undefined
      ? undefined
      : yield* Effect.acquireRelease(
        Effect.sync(() => openLogFile({ path: file, maxBytes: FILE_MAX_BYTES, keep: FILE_KEEP })),
        (f) => Effect.promise(() => f.close())
      )
    const logger = safeMessages(Logger.map(Logger.formatStructured, (record) => {
      const line = recordLine(record)
      ring.append(line)
      out?.write(line)
    }))
    const service = LogTail.of({
      file,
      tail: (params) =>
        Effect.sync(() =>
          ring.tail({
            cursor: params.cursor,
            limit: clamp(params.limit, DEFAULT_LIMIT, MAX_LIMIT),
            maxBytes: clamp(params.maxBytes, DEFAULT_MAX_BYTES, MAX_BYTES)
          })
        )
    })
    return Layer.merge(Layer.succeed(LogTail)(service), Logger.layer([logger], { mergeWithExisting: true }))
  })

/** The ring plus the rotating log file under the state dir (or `logging.file`). */
export const layer: Layer.Layer<LogTail, never, GatewayConfig> = Layer.unwrap(
  Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const configured = config.file.config.logging?.file
    return yield* make(configured !== undefined && configured !== "" ? configured : join(config.paths.stateDir, "logs", "gateway.log"))
  })
)

/** The ring only: no file is written. */
export const layerMemory: Layer.Layer<LogTail> = Layer.unwrap(make(undefined))
