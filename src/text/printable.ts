/**
 * Strings from the network (mDNS names, TXT hints, a gateway's answers) shown to
 * a person: control characters are replaced, so a peer cannot move the cursor,
 * hide text (ANSI escapes) or forge lines on the terminal.
 */

/** `text` with every C0/C1 control character (and DEL) shown as U+FFFD, cut to `max` characters. */
export const printable = (text: string, max = 256): string => {
  const cleaned = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "\ufffd")
  return cleaned.length <= max ? cleaned : `${cleaned.slice(0, max - 1)}…`
}
