// Unit test of the token provider with a stubbed msal network module (the integration tests use the real one).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { INetworkModule, NetworkResponse } from "@azure/msal-node";
import { secret } from "../../src/client/signin/secret";
import { TokenProvider } from "../../src/client/tokens";

const tenant = "7d6a1c6e-2f4b-4c1a-9a0e-5b3c2d1e0f11";
const host = "login.example.test";

function provider(answer: () => Promise<NetworkResponse<unknown>>) {
  let posts = 0;
  const network: INetworkModule = {
    async sendGetRequestAsync<T>(): Promise<NetworkResponse<T>> {
      const base = `https://${host}/${tenant}`;
      const body = {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        issuer: `${base}/v2.0`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
      };
      return { status: 200, headers: {}, body: body as T };
    },
    async sendPostRequestAsync<T>(): Promise<NetworkResponse<T>> {
      posts++;
      return (await answer()) as NetworkResponse<T>;
    },
  };
  const settings = {
    url: "https://org.example.test",
    cloud: "custom",
    authority: host,
    tenant,
    clientId: "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    clientSecret: "s",
  };
  const tokens = new TokenProvider({
    credential: (networkClient) => secret.create(settings, { environmentUrl: settings.url, networkClient }),
    networkClient: () => network,
  });
  return { tokens, posts: () => posts };
}

let issued = 0;
const success = async (): Promise<NetworkResponse<unknown>> => {
  await new Promise((r) => setTimeout(r, 20));
  issued++;
  return { status: 200, headers: {}, body: { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: `token-${issued}` } };
};

test("concurrent callers share one token request, and the token is reused", async () => {
  const { tokens, posts } = provider(success);
  const all = await Promise.all(Array.from({ length: 50 }, () => tokens.getToken()));
  assert.equal(new Set(all).size, 1);
  assert.equal(posts(), 1);
  await tokens.getToken();
  assert.equal(posts(), 1);
});

test("invalidating a refused token leads to exactly one new request, however many callers saw the 401", async () => {
  const { tokens, posts } = provider(success);
  const first = await tokens.getToken();
  for (let i = 0; i < 20; i++) tokens.invalidate(first);
  const next = await Promise.all(Array.from({ length: 20 }, () => tokens.getToken()));
  assert.equal(new Set(next).size, 1);
  assert.notEqual(next[0], first);
  // a late 401 for the old token does not throw away the new one
  tokens.invalidate(first);
  assert.equal(await tokens.getToken(), next[0]);
  assert.equal(posts(), 2);
});

test("a token endpoint error is mapped, and the next call tries again", async () => {
  let fail = true;
  const { tokens, posts } = provider(async () =>
    fail
      ? {
          status: 401,
          headers: {},
          body: { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided.", error_codes: [7000215] },
        }
      : success(),
  );
  await assert.rejects(tokens.getToken(), /client secret is wrong/);
  fail = false;
  assert.match(await tokens.getToken(), /^token-/);
  assert.equal(posts(), 2);
});

test("shortly before expiry a new token is fetched in the background while the old one is still handed out", async (t) => {
  let now = Date.now();
  t.mock.method(Date, "now", () => now);
  const { tokens, posts } = provider(success);
  const first = await tokens.getToken();
  now += 3599_000 - 200_000; // inside the renewal window (5 minutes before expiry), not yet expired
  assert.equal(await tokens.getToken(), first, "callers do not wait for the renewal");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(posts(), 2);
  const renewed = await tokens.getToken();
  assert.notEqual(renewed, first);
  assert.equal(posts(), 2);
});
