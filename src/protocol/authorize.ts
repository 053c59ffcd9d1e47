/**
 * The middleware tag every method passes through: it resolves the calling
 * connection, enforces role and scope from the method's `MethodAccess`, and
 * provides the caller to the handler.
 */
import * as Context from "effect/Context"
import * as RpcMiddleware from "effect/rpc/RpcMiddleware"
import type { Role } from "./connect.ts"
import { GatewayError } from "./errors.ts"

/** The authenticated caller of the current request. */
export interface Caller {
  readonly connId: string
  readonly role: Role
  readonly scopes: ReadonlyArray<string>
  readonly authMethod: string
  readonly clientId: string
  readonly clientMode: string
  /** The verified device behind the connection, if any. */
  readonly deviceId: string | undefined
}

export class CurrentCaller extends Context.Service<CurrentCaller, Caller>()("gatehouse/protocol/CurrentCaller") {}

export class Authorize extends RpcMiddleware.Service<Authorize, { provides: CurrentCaller }>()(
  "gatehouse/protocol/Authorize",
  { error: GatewayError }
) {}
