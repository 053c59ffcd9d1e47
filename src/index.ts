/**
 * gatehouse as a library: the gateway Layer, its services, the protocol
 * contract, and the client. Import what you embed; each name is a namespace.
 */
export * as Gateway from "./programs/Gateway.ts"
export * as GatewayClient from "./programs/gatewayClient.ts"
export { GatewayServer } from "./layers/WsServer.ts"
export { Auth } from "./services/Auth.ts"
export { ConnectionHub } from "./services/ConnectionHub.ts"
export { GatewayConfig } from "./services/GatewayConfig.ts"
export { GatewayInfo } from "./services/GatewayInfo.ts"
export { HostIdentity } from "./services/HostIdentity.ts"
export * as Protocol from "./protocol/methods.ts"
export { GatewayError } from "./protocol/errors.ts"
export type { Overrides } from "./config/resolve.ts"
