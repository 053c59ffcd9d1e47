/**
 * Redaction of secrets in config documents: every value under a key that names
 * a credential is replaced whole (strings, numbers, arrays, objects), however
 * deep it sits, and credentials embedded in URLs are removed.
 */
import * as Redacted from "effect/Redacted"

/** The value shown in place of a secret (OpenClaw's marker, so its clients recognise it). */
export const REDACTED = "__OPENCLAW_REDACTED__"

const SECRET_KEY = /(token|password|passwd|secret|key|authorization|cookie|credential|bearer|signature)s?$/i

/** Returns a copy of a JSON document with every secret-named value redacted. */
export const redactConfig = (doc: unknown): unknown => {
  if (Array.isArray(doc)) return doc.map(redactConfig)
  if (typeof doc === "string") {
    const url = splitUrl(doc)
    return url === undefined ? doc : url.prefix + (url.userinfo === undefined ? "" : `${REDACTED}@`) + hideQueryPassword(url.rest, REDACTED)
  }
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
 * tell which server is meant. Something that is not a URL is not shown at all.
 */
export const redactUrl = (url: string | Redacted.Redacted<string>): string => {
  const raw = Redacted.isRedacted(url) ? Redacted.value(url) : url
  const parts = splitUrl(raw)
  if (parts === undefined) return "(not a URL)"
  const colon = parts.userinfo?.indexOf(":") ?? -1
  const user = parts.userinfo === undefined ? "" : colon === -1 ? `${parts.userinfo}@` : `${parts.userinfo.slice(0, colon)}:***@`
  return parts.prefix + user + hideQueryPassword(parts.rest, "***")
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// libpq also takes the password as a query parameter (`?password=…`, `sslpassword=…`).
const QUERY_PASSWORD = /([?&](?:ssl)?password=)[^&#\s]*/gi

const hideQueryPassword = (text: string, mask: string) => text.replace(QUERY_PASSWORD, `$1${mask}`)

/**
 * `scheme://`, the userinfo (if any) and the rest. The userinfo ends at the last
 * "@" before the query, so an unescaped "@" or "/" in a password stays inside it.
 */
const splitUrl = (raw: string): { readonly prefix: string; readonly userinfo: string | undefined; readonly rest: string } | undefined => {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(raw)
  if (m === null) return undefined
  const prefix = m[1]!
  const after = m[2]!
  const query = after.search(/[?#]/)
  const at = (query === -1 ? after : after.slice(0, query)).lastIndexOf("@")
  return at === -1 ? { prefix, userinfo: undefined, rest: after } : { prefix, userinfo: after.slice(0, at), rest: after.slice(at + 1) }
}
