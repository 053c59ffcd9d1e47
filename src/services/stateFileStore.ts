/**
 * A JsonStore kept in a file under the gateway's state dir: the file-backed
 * layers of the pairing stores are built from it.
 */
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import { makeFileStore } from "../fs/jsonStore.ts"
import { GatewayConfig } from "./GatewayConfig.ts"

/** A JsonStore in the file `pathIn(stateDir)`, decoded with `schema`. */
export const stateFileStore = <S>(pathIn: (stateDir: string) => string, schema: Schema.Codec<S, unknown>, empty: S) =>
  Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    return yield* makeFileStore(pathIn(config.paths.stateDir), schema, empty).pipe(Effect.orDie)
  })
