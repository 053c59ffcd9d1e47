/**
 * Strings from the network (mDNS names, TXT hints, a gateway's answers, names
 * clients gave themselves) shown to a person: control characters and bidi
 * overrides are replaced, so a peer cannot move the cursor, hide text (ANSI
 * escapes), forge lines, or reorder what the reader sees (U+202E).
 */

/** C0/C1 controls, DEL, and the bidi marks, overrides and isolates that reorder what a reader sees. */
export const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** `text` with every C0/C1 control character, DEL and bidi control shown as U+FFFD, cut to `max` characters. */
export const printable = (text: string, max = 256): string => {
  const cleaned = text.replace(UNSAFE_CHARS, "\ufffd")
  return cleaned.length <= max ? cleaned : `${cleaned.slice(0, max - 1)}…`
}
