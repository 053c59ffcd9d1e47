/**
 * Redaction of secrets in config documents: every value under a key that names
 * a credential is replaced whole (strings, numbers, arrays, objects), however
 * deep it sits, and credentials embedded in URLs are removed.
 */

/** The value shown in place of a secret (OpenClaw's marker, so its clients recognise it). */
export const REDACTED = "__OPENCLAW_REDACTED__"

const SECRET_KEY = /(token|password|passwd|secret|key|authorization|cookie|credential|bearer|signature)s?$/i
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i

/** Returns a copy of a JSON document with every secret-named value redacted. */
export const redactConfig = (doc: unknown): unknown => {
  if (Array.isArray(doc)) return doc.map(redactConfig)
  if (typeof doc === "string") return doc.replace(URL_USERINFO, `$1${REDACTED}@`)
  if (typeof doc !== "object" || doc === null) return doc
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(doc)) {
    out[key] = SECRET_KEY.test(key) && value !== null && value !== "" ? REDACTED : redactConfig(value)
  }
  return out
}
