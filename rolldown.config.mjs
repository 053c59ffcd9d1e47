// The gatehouse bundle (`npm run build`): src/main.ts → dist/gatehouse.mjs, with the lazily loaded features
// (Redis, PostgreSQL, mDNS, the model agent, OTLP export) in dist/chunks/, loaded only when configured.
// Comments are dropped (V8 keeps every loaded script's source in memory).
import { defineConfig } from "rolldown"

// Node builtins are taken with process.getBuiltinModule, not ES-imported: an ES import of a builtin reads every
// export to build its namespace, which runs the lazy getters (node:http's load undici, ~14 MiB; node:fs's ~1 MiB).
// (globalThis.process: a chunk may have a binding of its own called `process`.)
const BUILTIN_IMPORT = /^import (?:\* as ([\w$]+)|\{([^}]*)\}|([\w$]+)) from "(node:[\w/]+)";$/gm
const builtinsByGetBuiltinModule = {
  name: "builtins-by-getBuiltinModule",
  renderChunk: (code) =>
    code.replace(BUILTIN_IMPORT, (line, ns, named, def, id) =>
      // `{ default as x }` names the whole module in ESM, not a property of it: left as an import.
      named !== undefined && /\bdefault\b/.test(named)
        ? line
        : named === undefined
        ? `const ${ns ?? def} = globalThis.process.getBuiltinModule(${JSON.stringify(id)});`
        : `const {${named.replace(/\b([\w$]+) as ([\w$]+)\b/g, "$1: $2")}} = globalThis.process.getBuiltinModule(${JSON.stringify(id)});`
    )
}

// ws loads node:https and node:tls at start for its client's wss:// (~3 MiB of OpenSSL set-up a plain ws:// gateway
// never uses): its two requires become lazy, loaded at the first wss:// connect. The build fails if ws changes them.
const WS_EAGER = [
  ["const https = require('https');", "const https = { get request() { return require('https').request; } };"],
  ["const tls = require('tls');", "const tls = { connect: (options) => require('tls').connect(options) };"]
]
const wsLazyTls = {
  name: "ws-lazy-tls",
  transform: (code, id) => {
    if (!/[\\/]node_modules[\\/]ws[\\/]lib[\\/]websocket\.js$/.test(id)) return null
    return WS_EAGER.reduce((text, [eager, lazy]) => {
      if (!text.includes(eager)) throw new Error(`rolldown.config.mjs: ws/lib/websocket.js no longer has ${eager}; update WS_EAGER`)
      return text.replace(eager, lazy)
    }, code)
  }
}

export default defineConfig({
  input: "src/main.ts",
  platform: "node",
  logLevel: "warn",
  plugins: [builtinsByGetBuiltinModule, wsLazyTls],
  output: {
    format: "esm",
    dir: "dist",
    entryFileNames: "gatehouse.mjs",
    chunkFileNames: "chunks/[name]-[hash].mjs",
    comments: false
  }
})
