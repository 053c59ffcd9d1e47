/**
 * The Control UI's static files: a fixed table of hand-written files under the
 * package's `ui/` folder (no build step), read once when the listener starts and
 * served from memory. A request can only ever name one of these keys, so no path
 * a client sends reaches the file system (no traversal, no symlinks, no
 * directory listing), and the work per request is one Map lookup.
 *
 * Every answer carries strict headers: a CSP that allows only the gateway's own
 * origin (no inline script or style), no framing, no referrer, nosniff.
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/** The URL paths of the Control UI and the file each serves (relative to `ui/`). */
export const CONTROL_UI_FILES: ReadonlyArray<readonly [path: string, file: string, contentType: string]> = [
  ["/", "index.html", "text/html; charset=utf-8"],
  ["/index.html", "index.html", "text/html; charset=utf-8"],
  ["/ui/style.css", "style.css", "text/css; charset=utf-8"],
  ["/ui/app.js", "app.js", "text/javascript; charset=utf-8"],
  ["/ui/gateway.js", "gateway.js", "text/javascript; charset=utf-8"],
  ["/ui/identity.js", "identity.js", "text/javascript; charset=utf-8"],
  ["/ui/render.js", "render.js", "text/javascript; charset=utf-8"],
  ["/favicon.svg", "favicon.svg", "image/svg+xml"]
]

/** One file ready to send. */
export interface Asset {
  readonly body: Buffer
  readonly contentType: string
}

/** The loaded table (path → asset), or why it could not be loaded. */
export type ControlUiAssets =
  | { readonly _tag: "Loaded"; readonly files: ReadonlyMap<string, Asset> }
  | { readonly _tag: "Missing"; readonly reason: string }

/** The headers every Control UI answer carries (the page may only load and connect to its own origin). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()"
}

/** Reads the table from `dir` (the package's `ui/` folder); any missing file makes the whole UI unavailable. */
export const loadControlUi = (dir: string | undefined = findUiDir()): ControlUiAssets => {
  if (dir === undefined) return { _tag: "Missing", reason: "the Control UI files (ui/) are not installed next to this gatehouse" }
  const files = new Map<string, Asset>()
  for (const [path, file, contentType] of CONTROL_UI_FILES) {
    const full = join(dir, file)
    if (!existsSync(full)) return { _tag: "Missing", reason: `the Control UI file ${file} is missing from ${dir}; reinstall gatehouse` }
    files.set(path, { body: readFileSync(full), contentType })
  }
  return { _tag: "Loaded", files }
}

/** The asset a request path names (query string ignored), or undefined when it names none. */
export const lookupAsset = (assets: ControlUiAssets, url: string | undefined): Asset | undefined => {
  if (assets._tag !== "Loaded") return undefined
  const path = (url ?? "/").split("?")[0]!
  return assets.files.get(path)
}

/** Whether a path belongs to the Control UI (served or not), so a missing install answers 503 instead of 404. */
export const isControlUiPath = (url: string | undefined): boolean => {
  const path = (url ?? "/").split("?")[0]!
  return CONTROL_UI_FILES.some(([p]) => p === path)
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// The package root holds `ui/`: from src/http/ (sources), dist/http/ (library build) or dist/ (the bundle).
const findUiDir = (): string | undefined => {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, "ui")
    if (existsSync(join(candidate, "index.html")) && existsSync(join(dir, "package.json"))) return candidate
    dir = dirname(dir)
  }
  return undefined
}
