/**
 * Handler of `logs.tail`: the gateway's recent log lines from LogTail.
 */
import * as Effect from "effect/Effect"
import { GatewayRpcs } from "../../protocol/methods.ts"
import { declaredIn } from "../../protocol/rpcs/define.ts"
import { LogTail, type TailParams } from "../../services/LogTail.ts"

export const handlers = Effect.gen(function*() {
  const logs = yield* LogTail
  return declaredIn(GatewayRpcs)({
    "logs.tail": (params: TailParams) =>
      Effect.map(logs.tail(params), (slice) => ({ ...(logs.file === undefined ? {} : { file: logs.file }), ...slice, lines: [...slice.lines] }))
  })
})
