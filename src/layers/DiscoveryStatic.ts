/**
 * Discovery from a fixed list: browsing returns the gateways the user configured
 * by hand (a remote host reached over a tailnet, a test fixture); nothing is advertised.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type DiscoveredGateway, Discovery, idleState } from "../services/Discovery.ts"

/** Finds exactly `gateways`. */
export const layer = (gateways: ReadonlyArray<Omit<DiscoveredGateway, "source">>) =>
  Layer.succeed(Discovery, Discovery.of({
    mode: "static",
    browse: () => Effect.succeed(gateways.map((g) => ({ ...g, source: "static" as const }))),
    advertised: Effect.succeed([]),
    publish: () => Effect.void,
    state: Effect.succeed(idleState)
  }))
