/**
 * A paired device as operators see it: its record without the token strings,
 * which never leave the gateway through a listing.
 */
import type { PairedDevice } from "./model.ts"

export interface DeviceSummary extends Omit<PairedDevice, "tokens"> {
  readonly role: string | undefined
  readonly scopes: ReadonlyArray<string>
  readonly tokens: ReadonlyArray<{ readonly role: string; readonly scopes: ReadonlyArray<string>; readonly createdAtMs: number; readonly rotatedAtMs?: number; readonly revokedAtMs?: number }>
}

/** A paired device without its token strings. */
export const summarize = (d: PairedDevice): DeviceSummary => {
  const { tokens, ...rest } = d
  return {
    ...rest,
    role: d.roles[0],
    scopes: d.approvedScopes,
    tokens: Object.values(tokens).map(({ token: _, ...t }) => t)
  }
}
