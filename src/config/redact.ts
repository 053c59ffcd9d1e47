/**
 * Redaction of secrets in config documents, by name and by shape: every value
 * under a key that names a credential is replaced whole (strings, numbers,
 * arrays, objects), however deep it sits; so is every value of an `env` map, any
 * string that holds a private key or a well-known token format, and in URLs the
 * user info, secret-named query values and path segments that look like tokens
 * (webhook and bot URLs carry their secret in the path).
 */
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"

/** The value shown in place of a secret (OpenClaw's marker, so its clients recognise it). */
export const REDACTED = "__OPENCLAW_REDACTED__"

const SECRET_KEY = /(token|password|passwd|secret|key|authorization|cookie|credential|bearer|signature)s?$/i

/** Returns a copy of a JSON document with every secret, by name or by shape, redacted. */
export const redactConfig = (doc: unknown): unknown => {
  if (Array.isArray(doc)) return doc.map(redactConfig)
  if (typeof doc === "string") return redactString(doc)
  if (typeof doc !== "object" || doc === null) return doc
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(doc)) {
    out[key] = SECRET_KEY.test(key) && value !== null && value !== ""
      ? REDACTED
      : ENV_KEY.test(key) && typeof value === "object" && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED]))
      : redactConfig(value)
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

// Maps of environment variables and of HTTP headers (an OTLP endpoint's API key): their values are secrets as often as not, whatever they are called.
const ENV_KEY = /^(env|environment|envVars|headers)$/i

// Shapes that are secrets wherever they appear: private keys, and token formats with a recognisable prefix.
const SECRET_SHAPES = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\b(sk|rk|pk)-[A-Za-z0-9_-]{20,}/, // API keys of OpenAI-compatible and similar services
  /\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}/,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/,
  // A JWT. It starts only where a run of token characters starts, so a long run of `eyJ-eyJ-…` is tried once,
  // not from every `eyJ` in it (that was quadratic).
  /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/,
  /\b[0-9]{6,}:[A-Za-z0-9_-]{30,}\b/ // a Telegram bot token
]

// Query parameters that carry credentials, by name.
const SECRET_PARAM = /^(ssl)?password$|token|secret|api[-_]?key|^key$|^sig(nature)?$|^auth|credential/i

const redactString = (text: string): string => {
  if (SECRET_SHAPES.some((shape) => shape.test(text))) return REDACTED
  return looksLikeUrl(text) ? maskUrl(text, REDACTED, "userinfo") ?? REDACTED : text
}

// A path segment that looks like a secret: long, and mixing letters with digits (webhook ids, bot tokens).
const tokenLike = (segment: string) => segment.length >= 20 && /[A-Za-z]/.test(segment) && /[0-9]/.test(segment)

const looksLikeUrl = (text: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(text)


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
  // libpq also takes the password as a query parameter (`?password=…`, `sslpassword=…`); others take tokens there.
  for (const key of [...url.searchParams.keys()]) if (SECRET_PARAM.test(key)) url.searchParams.set(key, mask)
  if (hide === "userinfo") url.pathname = url.pathname.split("/").map((seg) => (tokenLike(seg) ? mask : seg)).join("/")
  return url.toString()
}

// Shapes to cut out of free text (a log line): the same secret formats, found anywhere in the text.
const TEXT_SHAPES = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  ...SECRET_SHAPES.slice(1).map((shape) => new RegExp(shape.source, "g"))
]
// A URL inside text, up to the first character a URL cannot hold unescaped.
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s"'<>`]+/gi
// `token=…`, `password: …` and the like outside a URL (a query string logged on its own, a header dump).
// Any key ending in one of the words (`deviceToken`, `bootstrap_token`, `X-Api-Key`), quoted or not (JSON), with `=` or `:`.
const SECRET_ASSIGNMENT =
  /(["']?)\b([A-Za-z0-9_-]{0,64}?(?:token|password|passwd|secret|api[-_]?key|access[-_]?key|private[-_]?key|authorization|cookie|credentials?)s?)\1(\s*[=:]\s*)(?:"([^"\n]{1,512})"|'([^'\n]{1,512})'|(?!__OPENCLAW_REDACTED__|(?:Bearer|Basic|Token)\s)([^\s&"',;]{4,}))/gi
// A secret passed as a command-line flag and its value: `--password hunter2`, `--token=…`.
const SECRET_FLAG = /(--(?:token|password|secret|api-key|bootstrap-token|device-token))(\s+|=)(?!__OPENCLAW_REDACTED__)(\S{1,512})/gi
// HTTP credentials written out: `Bearer <token>`, `Basic <base64>`.
const AUTH_SCHEME = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}/gi

/**
 * Free text (a log line) with every secret it holds replaced in place, by shape:
 * private keys, well-known token formats, URL credentials and secret query
 * values, and `token=…`-style assignments. The rest of the text stays readable.
 */
export const redactText = (text: string): string => {
  let out = text
  for (const shape of TEXT_SHAPES) out = out.replace(shape, REDACTED)
  out = out.replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${REDACTED}`)
  out = out.replace(URL_IN_TEXT, (url) => {
    const masked = maskUrl(url, REDACTED, "userinfo")
    // A URL with nothing to hide is kept as written (not as the URL parser normalises it).
    return masked === undefined ? REDACTED : masked === new URL(url).toString() ? url : masked
  })
  out = out.replace(SECRET_FLAG, (_m, flag: string, sep: string) => `${flag}${sep}${REDACTED}`)
  return out.replace(SECRET_ASSIGNMENT, (_m, q: string, key: string, sep: string, dq: string | undefined, sq: string | undefined) =>
    `${q}${key}${q}${sep}${dq !== undefined ? `"${REDACTED}"` : sq !== undefined ? `'${REDACTED}'` : REDACTED}`)
}
