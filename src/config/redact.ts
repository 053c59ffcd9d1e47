/**
 * Redaction of secrets in config documents: every value under a key that names
 * a credential is replaced whole (strings, numbers, arrays, objects), however
 * deep it sits, and credentials embedded in URLs are removed.
 */
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"

/** The value shown in place of a secret (OpenClaw's marker, so its clients recognise it). */
export const REDACTED = "__OPENCLAW_REDACTED__"

const SECRET_KEY = /(token|password|passwd|secret|key|authorization|cookie|credential|bearer|signature)s?$/i

/** Returns a copy of a JSON document with every secret-named value redacted. */
export const redactConfig = (doc: unknown): unknown => {
  if (Array.isArray(doc)) return doc.map(redactConfig)
  if (typeof doc === "string") return looksLikeUrl(doc) ? maskUrl(doc, REDACTED, "userinfo") ?? REDACTED : doc
  if (typeof doc !== "object" || doc === null) return doc
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(doc)) {
    out[key] = SECRET_KEY.test(key) && value !== null && value !== "" ? REDACTED : redactConfig(value)
  }
  return out
}

/**
 * A URL fit to show: its password (in the authority or a `password=` query
 * parameter) replaced by `***`, the user, host and database kept, so a person can
 * tell which server is meant. Something that does not parse as a URL is not
 * shown at all.
 */
export const redactUrl = (url: string | Redacted.Redacted<string>): string => {
  const raw = Redacted.isRedacted(url) ? Redacted.value(url) : url
  return (looksLikeUrl(raw) ? maskUrl(raw, "***", "password") : undefined) ?? "(not a URL)"
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const looksLikeUrl = (text: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(text)

// libpq also takes the password as a query parameter (`?password=…`, `sslpassword=…`).
const PASSWORD_PARAM = /^(ssl)?password$/i

/**
 * `raw` with its password (or its whole user info) and password parameters
 * replaced by `mask`, parsed the way drivers parse it (WHATWG URL, percent-decoded
 * keys); undefined when it does not parse, so no guess of where a password ends
 * is ever shown.
 */
const maskUrl = (raw: string, mask: string, hide: "password" | "userinfo"): string | undefined => {
  const parsed = Result.try(() => new URL(raw))
  if (Result.isFailure(parsed)) return undefined
  const url = parsed.success
  if (hide === "userinfo" && (url.username !== "" || url.password !== "")) {
    url.username = mask
    url.password = ""
  } else if (url.password !== "") url.password = mask
  for (const key of [...url.searchParams.keys()]) if (PASSWORD_PARAM.test(key)) url.searchParams.set(key, mask)
  return url.toString()
}
