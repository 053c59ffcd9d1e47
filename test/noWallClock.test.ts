import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"

const files = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : []
  })

describe("src", () => {
  it("reads time only through Clock, never the wall clock or timers", () => {
    const forbidden = /\bDate\.now\(|new Date\(|setTimeout\(|setInterval\(|performance\.now\(|Math\.random\(/
    const offenders = files(new URL("../src", import.meta.url).pathname).flatMap((path) =>
      readFileSync(path, "utf8").split("\n").flatMap((line, i) =>
        forbidden.test(line) && !line.trim().startsWith("//") ? [`${path}:${i + 1}: ${line.trim()}`] : []
      )
    )
    assert.deepStrictEqual(offenders, [])
  })
})
