// The real msal-node ConfidentialClientApplication signs in against the emulator: proves the
// openid-configuration and token responses are enough for msal (custom authority + knownAuthorities).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { ConfidentialClientApplication, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from "@azure/msal-node";
import type { RunningEmulator } from "../../emulator";
import { Client, startTestEmulator } from "./helpers";

let emu: RunningEmulator;
let agent: https.Agent;

before(async () => {
  emu = await startTestEmulator();
  agent = new https.Agent({ ca: emu.caPem });
});
after(async () => {
  agent.destroy();
  await emu.close();
});

/** msal's network client contract: parsed JSON body, lowercase headers, never throw on 4xx/5xx. */
function networkClient(): INetworkModule {
  const send = <T>(method: string, url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> =>
    new Promise((resolve, reject) => {
      const req = https.request(url, { method, agent, headers: options?.headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = String(v);
          resolve({ status: res.statusCode ?? 0, headers, body: JSON.parse(text) as T });
        });
      });
      req.on("error", reject);
      req.end(options?.body);
    });
  return {
    sendGetRequestAsync: (url, options) => send("GET", url, options),
    sendPostRequestAsync: (url, options) => send("POST", url, options),
  };
}

function cca(secret = emu.clientSecret, tenant = emu.tenantId): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: emu.clientId,
      clientSecret: secret,
      authority: `https://${emu.authorityHost}/${tenant}`,
      knownAuthorities: [emu.authorityHost],
    },
    system: { networkClient: networkClient() },
  });
}

describe("msal-node against the emulator", () => {
  it("gets a token that Dataverse accepts, then serves it from its cache", async () => {
    emu.control.reset();
    const app = cca();
    const scopes = [`${emu.dataverseUrl}/.default`];
    const first = await app.acquireTokenByClientCredential({ scopes });
    assert.ok(first);
    assert.equal(first.fromCache, false);
    assert.equal(first.tokenType, "Bearer");
    assert.ok(first.expiresOn && first.expiresOn.getTime() > Date.now() + 3000 * 1000);

    const second = await app.acquireTokenByClientCredential({ scopes });
    assert.equal(second?.fromCache, true);
    assert.equal(second?.accessToken, first.accessToken);

    const stats = emu.control.stats();
    assert.equal(stats.openidConfigRequests, 1, "msal read the openid-configuration once");
    assert.equal(stats.tokenRequests, 1, "the second call came from msal's cache");

    // msal's form body with its telemetry extras, and client-request-id on the URL, was accepted.
    const post = emu.control.requests({ server: "login" }).find((r) => r.method === "POST")!;
    assert.match(post.query, /client-request-id=/);
    assert.match(post.body ?? "", /x-ms-lib-capability=/);

    const client = new Client(emu);
    try {
      const who = await client.api("GET", "WhoAmI", { token: first.accessToken });
      assert.equal(who.status, 200);
    } finally {
      client.close();
    }
  });

  it("surfaces AADSTS errors as msal ServerErrors with the Entra code", async () => {
    await assert.rejects(cca("wrong-secret").acquireTokenByClientCredential({ scopes: [`${emu.dataverseUrl}/.default`] }), (err: any) => {
      assert.equal(err.errorCode, "invalid_client");
      assert.match(err.errorMessage, /AADSTS7000215/);
      return true;
    });
  });

  it("accepts the tenant's domain name as the authority tenant", async () => {
    const result = await cca(emu.clientSecret, "contoso.onmicrosoft.com").acquireTokenByClientCredential({
      scopes: [`${emu.dataverseUrl}/.default`],
    });
    assert.ok(result?.accessToken);
  });
});
