import { assert, describe, it } from "@effect/vitest"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { dashboardUrl } from "../../src/cli/dashboard.ts"
import { CONTROL_UI_FILES, isControlUiPath, loadControlUi, lookupAsset } from "../../src/http/controlUi.ts"
import { tempDir } from "../helpers/tempDirs.ts"

describe("the Control UI's file table", () => {
  const assets = loadControlUi()

  it("finds every file of the table in the package's ui/ folder", () => {
    assert.strictEqual(assets._tag, "Loaded")
    for (const [path] of CONTROL_UI_FILES) assert.isDefined(lookupAsset(assets, path), path)
    assert.strictEqual(lookupAsset(assets, "/")?.contentType, "text/html; charset=utf-8")
    assert.strictEqual(lookupAsset(assets, "/ui/app.js?v=1")?.contentType, "text/javascript; charset=utf-8")
  })

  it("serves nothing outside the table, whatever the path spells (traversal, encodings, other files)", () => {
    for (const path of ["/ui/../package.json", "/ui/%2e%2e/package.json", "//etc/passwd", "/ui/", "/ui", "/ui/app.js/", "/UI/app.js", "/ui/app.js%00", "/package.json", "/ui/identity.js.map", "/__proto__", "/constructor"]) {
      assert.isUndefined(lookupAsset(assets, path), path)
    }
  })

  it("loads only the listed files, and reports a missing one instead of serving a partial UI", () => {
    const dir = tempDir("gatehouse-ui-")
    mkdirSync(dir, { recursive: true })
    for (const [, file] of CONTROL_UI_FILES) writeFileSync(join(dir, file), `// ${file}`)
    writeFileSync(join(dir, "secret.txt"), "not served")
    const loaded = loadControlUi(dir)
    assert.strictEqual(loaded._tag, "Loaded")
    assert.isUndefined(lookupAsset(loaded, "/ui/secret.txt"))
    writeFileSync(join(dir, "app.js"), "")
    const partial = tempDir("gatehouse-ui-partial-")
    writeFileSync(join(partial, "index.html"), "<!doctype html>")
    const missing = loadControlUi(partial)
    assert.strictEqual(missing._tag, "Missing")
    assert.isTrue(isControlUiPath("/"))
    assert.isUndefined(lookupAsset(missing, "/"))
    assert.strictEqual(loadControlUi(undefined)._tag, "Loaded") // the default finds the package's own ui/
  })

  it("keeps its pages free of inline script, inline handlers and third-party URLs (the CSP would block them)", () => {
    const html = lookupAsset(assets, "/")!.body.toString()
    assert.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/)
    assert.notMatch(html, /\son[a-z]+=/i)
    assert.notMatch(html, /style=/)
    for (const [path] of CONTROL_UI_FILES) {
      const text = lookupAsset(assets, path)!.body.toString()
      assert.notMatch(text, /https?:\/\/(?!www\.w3\.org)[a-z0-9[]/i, path)
      assert.notMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, path)
      assert.notMatch(text, /localStorage/, path)
    }
  })
})

describe("gatehouse dashboard's URL", () => {
  it("is loopback without TLS (a secure context for WebCrypto), the configured host with TLS", () => {
    assert.strictEqual(dashboardUrl("127.0.0.1", 18789, false), "http://127.0.0.1:18789/")
    assert.strictEqual(dashboardUrl("0.0.0.0", 18789, false), "http://127.0.0.1:18789/")
    assert.strictEqual(dashboardUrl("192.0.2.7", 18789, false), "http://127.0.0.1:18789/")
    assert.strictEqual(dashboardUrl("192.0.2.7", 18789, true), "https://192.0.2.7:18789/")
    assert.strictEqual(dashboardUrl("::", 443, true), "https://127.0.0.1:443/")
    assert.strictEqual(dashboardUrl("fd00::7", 18789, true), "https://[fd00::7]:18789/")
  })
})
