/** The gatehouse version reported in `hello-ok.server.version` and by the CLI. */
export const GATEHOUSE_VERSION = "0.1.0"
