/**
 * DM pairing, pure (OpenClaw's `dmPolicy: "pairing"`): an unknown sender gets a
 * short code; the owner approves the code, which adds the sender to the approved
 * list. Codes expire after an hour; at most `MAX_PENDING` wait at once (the
 * oldest is dropped for a new one); a sender who asks again keeps their code.
 */

/** How long a code can be approved (ms). */
export const CODE_TTL_MS = 60 * 60 * 1000
/** Codes waiting at once, per channel. */
export const MAX_PENDING = 3
/** Senders approved through pairing, per channel (the oldest approval goes first past this). */
export const MAX_APPROVED = 1000
/** Code length and alphabet (no 0/O, 1/I look-alikes), as OpenClaw's. */
export const CODE_LENGTH = 8
export const CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

export interface PendingCode {
  readonly code: string
  readonly userId: string
  readonly chatId: string
  readonly createdAt: number
}

export interface PairingState {
  readonly pending: ReadonlyArray<PendingCode>
  readonly approved: ReadonlyArray<string>
}

export const emptyPairing: PairingState = { pending: [], approved: [] }

/** `state` without expired codes. */
export const prune = (state: PairingState, now: number): PairingState => {
  const pending = state.pending.filter((p) => now - p.createdAt < CODE_TTL_MS && p.createdAt <= now)
  return pending.length === state.pending.length ? state : { ...state, pending }
}

/**
 * The code for `userId` (theirs if one is waiting, else a new one from
 * `newCode`), and the state that keeps it.
 */
export const request = (
  state: PairingState,
  sender: { readonly userId: string; readonly chatId: string },
  now: number,
  newCode: () => string
): readonly [PendingCode, PairingState] => {
  const live = prune(state, now)
  const waiting = live.pending.find((p) => p.userId === sender.userId)
  if (waiting !== undefined) return [waiting, live]
  let code = newCode()
  for (let i = 0; live.pending.some((p) => p.code === code) && i < 100; i++) code = newCode()
  const entry: PendingCode = { code, userId: sender.userId, chatId: sender.chatId, createdAt: now }
  const pending = [...live.pending, entry]
  return [entry, { ...live, pending: pending.length > MAX_PENDING ? pending.slice(pending.length - MAX_PENDING) : pending }]
}

/** Approves `code` (case-insensitive): the sender it names, or undefined when no such code is waiting. */
export const approve = (state: PairingState, code: string, now: number): readonly [PendingCode | undefined, PairingState] => {
  const live = prune(state, now)
  const wanted = code.trim().toUpperCase()
  const hit = live.pending.find((p) => p.code === wanted)
  if (hit === undefined) return [undefined, live]
  const approved = [...live.approved.filter((id) => id !== hit.userId), hit.userId]
  return [hit, {
    pending: live.pending.filter((p) => p !== hit),
    approved: approved.length > MAX_APPROVED ? approved.slice(approved.length - MAX_APPROVED) : approved
  }]
}

/** The reply an unknown sender gets. */
export const pairingReply = (channel: string, userId: string, code: string) =>
  [
    "gatehouse: this bot answers only people its owner has approved.",
    `Your ${channel} user id: ${userId}`,
    `Pairing code: ${code}`,
    `Ask the owner to run: gatehouse pairing approve ${channel} ${code}`
  ].join("\n")
