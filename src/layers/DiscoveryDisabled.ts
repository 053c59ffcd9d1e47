/**
 * Discovery turned off: the gateway advertises nothing and browsing finds nothing.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Discovery, idleState } from "../services/Discovery.ts"

export const layer = Layer.succeed(Discovery, Discovery.of({
  mode: "disabled",
  browse: () => Effect.succeed([]),
  advertised: Effect.succeed([]),
  publish: () => Effect.void,
  state: Effect.succeed(idleState)
}))
