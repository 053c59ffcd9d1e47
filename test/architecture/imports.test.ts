import { assert, describe, it } from "@effect/vitest"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { houseRules, importGraph } from "../helpers/importGraph.ts"
import { tempDir } from "../helpers/tempDirs.ts"

const src = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src")

const tree = (files: Record<string, string>) => {
  const root = tempDir("gatehouse-imports-")
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

describe("import graph", () => {
  it("src keeps every house rule", () => {
    const graph = importGraph(src)
    assert.isAbove(graph.size, 50)
    for (const [rule, broken] of Object.entries(houseRules(graph))) assert.deepStrictEqual(broken, [], rule)
  })

  it("reports each broken rule, type imports and re-exports included", () => {
    const root = tree({
      "programs/p.ts": `import * as L from "../layers/l.ts"\n`,
      "layers/l.ts": `import type { P } from "../programs/p.ts"\n`,
      "services/s.ts": `export { x } from "../layers/l.ts"\n`,
      "protocol/w.ts": `import { y } from "../domain/y.ts"\n`,
      "domain/y.ts": `import "./z.ts"\n`,
      "domain/z.ts": `// import "./y.ts" in a comment does not count\nimport type { Y } from "./y.ts"\n`
    })
    const rules = houseRules(importGraph(root))
    assert.deepStrictEqual(rules["programs never import layers"], ["programs/p.ts -> layers/l.ts"])
    assert.deepStrictEqual(rules["layers never import programs"], ["layers/l.ts -> programs/p.ts"])
    assert.deepStrictEqual(rules["services never import layers"], ["services/s.ts -> layers/l.ts"])
    assert.deepStrictEqual(rules["protocol imports only protocol"], ["protocol/w.ts -> domain/y.ts"])
    assert.deepStrictEqual(rules["no import circles"].sort(), ["domain/y.ts <-> domain/z.ts", "layers/l.ts <-> programs/p.ts"])
  })
})
