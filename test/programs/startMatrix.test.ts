import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Gateway from "../../src/gateway.ts"
import type { Overrides } from "../../src/config/resolve.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { homeWithConfig } from "../helpers/testGateway.ts"
import { run } from "../helpers/processes.ts"

// USERS-AND-SECURITY.md §4, the fail-closed start matrix: every combination that must not be
// served refuses to start and says what to set or run; the allowed neighbours do start.

const REAL = "a-real-secret-7f3c9a1e5b"

interface Row {
  readonly name: string
  readonly config: unknown
  readonly overrides?: Overrides
  readonly env?: Record<string, string>
  /** Substrings the refusal must contain (what is wrong, and the fix); undefined: it must start. */
  readonly refuses?: ReadonlyArray<string>
}

const ROWS: ReadonlyArray<Row> = [
  { name: "loopback, auth none, no Tailscale: starts (with a warning)", config: { gateway: { bind: "loopback", auth: { mode: "none" } } } },
  {
    name: "loopback, auth none, tailscale serve",
    config: { gateway: { bind: "loopback", auth: { mode: "none" }, tailscale: { mode: "serve" } } },
    refuses: ["gateway.tailscale.mode=serve", "auth mode is none", "gatehouse config set gateway.auth.mode password"]
  },
  {
    name: "loopback, auth none, tailscale funnel",
    config: { gateway: { bind: "loopback", auth: { mode: "none" }, tailscale: { mode: "funnel" } } },
    refuses: ["gateway.tailscale.mode=funnel", "the internet", "gatehouse config set"]
  },
  { name: "lan, auth none", config: { gateway: { bind: "lan", auth: { mode: "none" } } }, refuses: ["auth mode none is for loopback only", "--bind loopback"] },
  {
    name: "custom non-loopback host, auth none",
    config: { gateway: { bind: "custom", customBindHost: "0.0.0.0", auth: { mode: "none" } } },
    refuses: ["auth mode none is for loopback only"]
  },
  {
    name: "lan, token of whitespace",
    config: { gateway: { bind: "lan", auth: { mode: "token" } } },
    env: { OPENCLAW_GATEWAY_TOKEN: "   " },
    refuses: ["placeholder or blank", "openssl rand -hex 24"]
  },
  {
    name: "lan, password of whitespace",
    config: { gateway: { bind: "lan", auth: { mode: "password", password: " \t " } } },
    refuses: ["placeholder or blank"]
  },
  {
    name: "lan, password mode without a password",
    config: { gateway: { bind: "lan", auth: { mode: "password" } } },
    refuses: ["OPENCLAW_GATEWAY_PASSWORD", "--password"]
  },
  {
    name: "hooks.token equal to the gateway token",
    config: { gateway: { auth: { mode: "token", token: REAL } }, hooks: { token: REAL } },
    refuses: ["hooks.token", "equals the gateway's token", "openssl rand -hex 24"]
  },
  {
    name: "hooks.token equal to the gateway password",
    config: { gateway: { auth: { mode: "password", password: REAL } }, hooks: { token: ` ${REAL} ` } },
    refuses: ["equals the gateway's password"]
  },
  { name: "a different hooks.token: starts", config: { gateway: { auth: { mode: "token", token: REAL } }, hooks: { token: "another-hook-secret-91ab" } } },
  {
    name: "trusted-proxy with tailscale serve",
    config: { gateway: { trustedProxies: ["10.0.0.2"], tailscale: { mode: "serve" }, auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-forwarded-user" } } } },
    refuses: ["trusted-proxy with gateway.tailscale.mode=serve", "allowTailscale"]
  },
  {
    name: "trusted-proxy without gateway.trustedProxies",
    config: { gateway: { bind: "lan", auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-forwarded-user" } } } },
    refuses: ["needs gateway.trustedProxies", "gatehouse config set gateway.trustedProxies"]
  },
  {
    name: "trusted-proxy without a user header",
    config: { gateway: { bind: "lan", trustedProxies: ["10.0.0.2"], auth: { mode: "trusted-proxy" } } },
    refuses: ["gateway.auth.trustedProxy.userHeader", "x-forwarded-user"]
  },
  {
    name: "trusted-proxy with a loopback proxy and no allowLoopback",
    config: { gateway: { trustedProxies: ["127.0.0.1"], auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-forwarded-user" } } } },
    refuses: ["loopback address in gateway.trustedProxies", "allowLoopback"]
  },
  {
    name: "trusted-proxy with a loopback proxy and explicit allowLoopback: starts",
    config: { gateway: { trustedProxies: ["127.0.0.1"], auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-forwarded-user", allowLoopback: true } } } }
  },
  {
    name: "trusted-proxy on lan with its proxy and header: starts",
    config: { gateway: { bind: "lan", trustedProxies: ["10.0.0.2"], auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-forwarded-user" } } } }
  },
  {
    name: "trusted-proxy with a header name that is not one",
    config: { gateway: { trustedProxies: ["10.0.0.2"], auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x user\r\n" } } } },
    refuses: ["is not an HTTP header name", "x-forwarded-user"]
  },
  {
    name: "funnel with token auth",
    config: { gateway: { tailscale: { mode: "funnel" }, auth: { mode: "token", token: REAL } } },
    refuses: ["funnel makes the gateway public and needs auth mode password", "gatehouse config set gateway.auth.mode password"]
  },
  {
    name: "funnel with trusted-proxy auth",
    config: { gateway: { tailscale: { mode: "funnel" }, trustedProxies: ["10.0.0.2"], auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-forwarded-user" } } } },
    refuses: ["needs auth mode password"]
  },
  { name: "funnel with a real password: starts", config: { gateway: { tailscale: { mode: "funnel" }, auth: { mode: "password", password: REAL } } } },
  {
    name: "allowTailscale with auth none",
    config: { gateway: { auth: { mode: "none", allowTailscale: true } } },
    refuses: ["allowTailscale needs auth mode token or password", "gatehouse config set gateway.auth.mode token"]
  },
  { name: "allowTailscale with token auth: starts", config: { gateway: { auth: { mode: "token", token: REAL, allowTailscale: true } } } },
  { name: "rateLimit.maxAttempts <= 0", config: { gateway: { auth: { rateLimit: { maxAttempts: 0 } } } }, refuses: ["maxAttempts"] },
  { name: "rateLimit.windowMs <= 0", config: { gateway: { auth: { rateLimit: { windowMs: -5 } } } }, refuses: ["windowMs"] },
  { name: "rateLimit.lockoutMs <= 0", config: { gateway: { auth: { rateLimit: { lockoutMs: 0 } } } }, refuses: ["lockoutMs"] }
]

const start = (row: Row) =>
  Layer.build(
    Gateway.layerDefault().pipe(
      Layer.provideMerge(Layer.effect(GatewayConfig, GatewayConfig.make({ port: 0, ...row.overrides }, { ...homeWithConfig(row.config), ...row.env })))
    )
  ).pipe(Effect.map(Context.get(GatewayServer)), Effect.scoped)

describe("USERS-AND-SECURITY.md §4: the fail-closed start matrix", () => {
  for (const row of ROWS) {
    it.live(row.refuses === undefined ? row.name : `refuses: ${row.name}`, () =>
      Effect.gen(function*() {
        const outcome = yield* Effect.result(start(row))
        if (row.refuses === undefined) {
          assert.strictEqual(outcome._tag, "Success", outcome._tag === "Failure" ? String(outcome.failure.message) : "")
          return
        }
        assert.strictEqual(outcome._tag, "Failure", "it started")
        if (outcome._tag !== "Failure") return
        for (const part of row.refuses) assert.include(outcome.failure.message, part)
      }))
  }

  it("`gatehouse gateway run` exits 1 with the refusal and its fix on stderr", async () => {
    const env = homeWithConfig({ gateway: { bind: "loopback", auth: { mode: "none" }, tailscale: { mode: "funnel" } } })
    const r = await run(["gateway", "run", "--port", "0"], env)
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, "refusing to start")
    assert.include(r.stderr, "gatehouse config set gateway.auth.mode password")
  }, 30_000)
})
