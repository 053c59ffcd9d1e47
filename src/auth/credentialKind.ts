/**
 * The kinds of credential a client can present, each counted apart by the
 * RateLimiter: guesses at the gateway's secret and guesses at a device token are
 * different attacks with different odds. Which kinds an attempt presents is read
 * from the fields it sent, so adding a field only adds checks and never moves a
 * guess into a fresh bucket.
 */
import type { ConnectParams } from "../protocol/connect.ts"

export const CREDENTIAL_KINDS = ["shared-secret", "device-token", "bootstrap-token", "device-signature", "tailscale"] as const
export type CredentialKind = typeof CREDENTIAL_KINDS[number]

/** The kind a count is kept under when the caller names none (the gateway's token or password). */
export const DEFAULT_KIND: CredentialKind = "shared-secret"

/**
 * Every kind an attempt could have verified, from the fields it sent: the shared token field is also tried as
 * a device token when a device is present. An attempt that presents nothing is checked as a shared-secret one.
 */
export const presentedKinds = (params: Pick<ConnectParams, "auth" | "device">): ReadonlyArray<CredentialKind> => {
  const auth = params.auth ?? {}
  const has = (v: string | undefined) => v !== undefined && v !== ""
  const kinds = new Set<CredentialKind>()
  if (has(auth.token) || has(auth.password)) kinds.add("shared-secret")
  if (params.device !== undefined) {
    kinds.add("device-signature")
    if (has(auth.deviceToken) || has(auth.token)) kinds.add("device-token")
    if (has(auth.bootstrapToken)) kinds.add("bootstrap-token")
  }
  if (kinds.size === 0) kinds.add(DEFAULT_KIND)
  return [...kinds]
}
