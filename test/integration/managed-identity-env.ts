/**
 * msal-node's managed identity reads its endpoint from environment variables once per process and,
 * when none is set, falls back to Azure's instance metadata address. Tests call this
 * before their first token request: it removes every variable msal-node looks at, sets the given
 * ones, and points the metadata fallback at a closed loopback port, so no request leaves 127.0.0.1.
 */
import { createServer } from "node:net";

const SOURCE_VARIABLES = [
  "IDENTITY_ENDPOINT",
  "IDENTITY_HEADER",
  "IDENTITY_SERVER_THUMBPRINT",
  "IMDS_ENDPOINT",
  "MSI_ENDPOINT",
  "MSI_SECRET",
  "DEFAULT_IDENTITY_CLIENT_ID",
  "AZURE_POD_IDENTITY_AUTHORITY_HOST",
];

export async function useOnlyLoopbackManagedIdentity(variables: Record<string, string>): Promise<void> {
  for (const name of SOURCE_VARIABLES) delete process.env[name];
  process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = `http://127.0.0.1:${await closedPort()}`;
  for (const [name, value] of Object.entries(variables)) {
    if (!/^https?:\/\/127\.0\.0\.1:\d+/.test(value) && name !== "IDENTITY_HEADER") throw new Error(`${name} must point at 127.0.0.1`);
    process.env[name] = value;
  }
}

/** A loopback port nothing listens on: taken, then given back. */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
