import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

export type Graph = ReadonlyMap<string, ReadonlySet<string>>

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g

const walk = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : []
  )

const isFile = (p: string) => {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

/** The import graph of the .ts files under `root` (paths relative to it), type imports included. */
export const importGraph = (root: string): Graph => {
  const graph = new Map<string, Set<string>>()
  for (const file of walk(root)) {
    const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")
    const deps = new Set<string>()
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]
      if (spec === undefined || !spec.startsWith(".")) continue
      const target = resolve(dirname(file), spec)
      if (isFile(target)) deps.add(relative(root, target))
    }
    graph.set(relative(root, file), deps)
  }
  return graph
}

/** Imports from files under `from/` into files under `to/`. */
export const crossings = (graph: Graph, from: string, to: string): Array<string> =>
  [...graph].flatMap(([file, deps]) => (file.startsWith(`${from}/`) ? [...deps].filter((d) => d.startsWith(`${to}/`)).map((d) => `${file} -> ${d}`) : []))

/** Imports from files under `dir/` into anything outside it. */
export const escapes = (graph: Graph, dir: string): Array<string> =>
  [...graph].flatMap(([file, deps]) => (file.startsWith(`${dir}/`) ? [...deps].filter((d) => !d.startsWith(`${dir}/`)).map((d) => `${file} -> ${d}`) : []))

/** Every set of files that import each other in a circle (Tarjan's strongly connected components). */
export const circles = (graph: Graph): Array<Array<string>> => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const found: Array<Array<string>> = []
  let next = 0
  const visit = (v: string) => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || graph.get(v)?.has(v)) found.push(component.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found
}

/** The house rules of DESIGN.md, as broken imports per rule (empty lists when kept). */
export const houseRules = (graph: Graph) => ({
  "programs never import layers": crossings(graph, "programs", "layers"),
  "layers never import programs": crossings(graph, "layers", "programs"),
  "services never import layers": crossings(graph, "services", "layers"),
  "services never import programs": crossings(graph, "services", "programs"),
  "protocol imports only protocol": escapes(graph, "protocol"),
  "no import circles": circles(graph).map((c) => c.join(" <-> "))
})
