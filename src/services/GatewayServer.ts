/**
 * GatewayServer: what a running gateway tells the program that embeds it: where
 * it listens. The gateway Layer's one output beside the public contracts.
 */
import * as Context from "effect/Context"
import type { ListenAddress } from "./Listener.ts"

export class GatewayServer extends Context.Service<GatewayServer, ListenAddress>()("gatehouse/services/GatewayServer") {}
