/**
 * Discovery for client commands: browses the LAN over mDNS only when a browse is
 * actually asked for (the transport selection's "discovered" step), loading the
 * mDNS code and opening its socket then, and closing it right after. Advertises
 * nothing. A command that never browses costs nothing.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Discovery, idleState } from "../services/Discovery.ts"

export const layer = Layer.succeed(Discovery, Discovery.of({
  mode: "mdns-browse",
  browse: (timeoutMs) =>
    Effect.promise(() => import("./DiscoveryMdns.ts")).pipe(
      Effect.flatMap((Mdns) => Layer.build(Mdns.layerBrowser())),
      Effect.flatMap((context) => Context.get(context, Discovery).browse(timeoutMs)),
      Effect.scoped
    ),
  advertised: Effect.succeed([]),
  publish: () => Effect.void,
  state: Effect.succeed(idleState)
}))
