/**
 * Redaction of secrets in config documents: every key that names a credential has
 * its value replaced, however deep it sits.
 */

/** The value shown in place of a secret (OpenClaw's marker, so its clients recognise it). */
export const REDACTED = "__OPENCLAW_REDACTED__"

const SECRET_KEY = /(token|password|secret|apikey|api_key|privatekey|private_key|credential)s?$/i

/** Returns a copy of a JSON document with every secret-named value redacted. */
export const redactConfig = (doc: unknown): unknown => {
  if (Array.isArray(doc)) return doc.map(redactConfig)
  if (typeof doc !== "object" || doc === null) return doc
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(doc)) {
    out[key] = SECRET_KEY.test(key) && (typeof value === "string" || typeof value === "number") ? REDACTED : redactConfig(value)
  }
  return out
}
