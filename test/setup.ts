import { afterAll } from "@effect/vitest"
import { removeTempDirs } from "./helpers/tempDirs.ts"

// Registered before each file's own hooks, so it runs after them (daemons stopped first).
afterAll(removeTempDirs)
