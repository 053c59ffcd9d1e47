/**
 * Auth from a fixed table of tokens: each token admits one principal, anything
 * else is refused as a token mismatch. For tests and for embedders whose callers
 * are known in advance (no pairing, no device identities).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Principal } from "../auth/principal.ts"
import { secretEquals } from "../auth/secretEquals.ts"
import { Auth, AuthCredentialRejected, AuthError } from "../services/Auth.ts"

/** Admits the principal listed for the presented `auth.token`. */
export const layer = (principals: ReadonlyMap<string, Principal>) =>
  Layer.succeed(Auth, Auth.of({
    authenticate: (params) => {
      const presented = params.auth?.token ?? ""
      for (const [token, principal] of principals) {
        if (presented !== "" && secretEquals(presented, token)) return Effect.succeed({ principal })
      }
      return Effect.fail(new AuthError({
        reason: new AuthCredentialRejected({ kind: presented === "" ? "token_missing" : "token_mismatch" })
      }))
    }
  }))
