import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bypassesProxy, goesThroughProxy, proxyRoute, withoutCredentials } from "../../src/client/proxy";
import { DataverseError, fromNetworkError, ProxyFailure } from "../../src/client/errors";

describe("NO_PROXY, matched as Node-RED's http request node matches it", () => {
  const cases: Array<[noProxy: string, host: string, port: number, bypass: boolean]> = [
    ["", "contoso.crm.dynamics.com", 443, false],
    ["*", "contoso.crm.dynamics.com", 443, true],
    // A plain host is an exact match only.
    ["contoso.crm.dynamics.com", "contoso.crm.dynamics.com", 443, true],
    ["crm.dynamics.com", "contoso.crm.dynamics.com", 443, false],
    // A leading dot or *. is a domain suffix.
    [".crm.dynamics.com", "contoso.crm.dynamics.com", 443, true],
    ["*.crm.dynamics.com", "contoso.crm.dynamics.com", 443, true],
    [".crm.dynamics.com", "login.microsoftonline.com", 443, false],
    // A port limits the entry to that port.
    ["127.0.0.1:8443", "127.0.0.1", 8443, true],
    ["127.0.0.1:8443", "127.0.0.1", 9443, false],
    [".dynamics.com:443", "contoso.crm.dynamics.com", 443, true],
    // Lists split on commas and spaces; empty entries are skipped; host names compare in lower case.
    ["localhost, ,metadata.local .internal.contoso.com", "api.internal.contoso.com", 443, true],
    ["localhost,,metadata.local", "metadata.local", 80, true],
    ["localhost", "LOCALHOST", 443, true],
  ];
  for (const [noProxy, host, port, bypass] of cases) {
    it(`'${noProxy}' ${bypass ? "sends" : "does not send"} ${host}:${port} straight`, () => {
      assert.equal(bypassesProxy(noProxy, host, port), bypass);
    });
  }
});

describe("the proxy of a connection", () => {
  it("is none without a setting or a variable", () => {
    assert.equal(proxyRoute({}, {}), undefined);
    assert.equal(proxyRoute({ proxy: " " }, { HTTP_PROXY: "http://only-for-http:3128" }), undefined);
  });

  it("is the connection's setting before the environment, with NO_PROXY from the environment", () => {
    const route = proxyRoute({ proxy: "http://proxy.contoso.com:8080" }, { HTTPS_PROXY: "http://other:3128", NO_PROXY: "Login.Contoso.com" });
    assert.equal(route?.url.href, "http://proxy.contoso.com:8080/");
    assert.equal(route?.label, "proxy.contoso.com:8080");
    assert.equal(route?.noProxy, "login.contoso.com");
  });

  it("comes from the environment in Node-RED's order: lower case before upper case, https before npm's and all_proxy", () => {
    assert.equal(proxyRoute({}, { HTTPS_PROXY: "http://upper:1", https_proxy: "http://lower:2" })?.label, "lower:2 (from https_proxy)");
    assert.equal(proxyRoute({}, { npm_config_proxy: "http://npm:3", ALL_PROXY: "http://all:4" })?.label, "npm:3 (from npm_config_proxy)");
    assert.equal(proxyRoute({}, { ALL_PROXY: "http://all:4" })?.label, "all:4 (from ALL_PROXY)");
    assert.equal(proxyRoute({}, { HTTPS_PROXY: "http://p:1", no_proxy: "a", NO_PROXY: "b" })?.noProxy, "a");
  });

  it("takes a host and port without a scheme as a plain HTTP proxy", () => {
    assert.equal(proxyRoute({ proxy: "proxy.contoso.com:3128" })?.url.href, "http://proxy.contoso.com:3128/");
  });

  it("carries credentials from the connection's credentials, else from the variable's URL, and never shows them", () => {
    const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
    const fromEnv = proxyRoute({}, { HTTPS_PROXY: "http://ann:p%40ss@proxy:8080" });
    assert.equal(fromEnv?.authorization, basic("ann", "p@ss"));
    assert.equal(fromEnv?.url.href, "http://proxy:8080/");
    assert.equal(fromEnv?.label, "proxy:8080 (from HTTPS_PROXY)");
    const fromCredentials = proxyRoute({ proxyUsername: "bob", proxyPassword: "s3cret" }, { HTTPS_PROXY: "http://ann:old@proxy:8080" });
    assert.equal(fromCredentials?.authorization, basic("bob", "s3cret"));
    assert.equal(proxyRoute({ proxy: "http://proxy:8080", proxyUsername: "bob", proxyPassword: "s3cret" })?.authorization, basic("bob", "s3cret"));
    assert.equal(proxyRoute({ proxy: "http://proxy:8080" })?.authorization, undefined);
  });

  it("rejects a URL that is not an http:// or https:// proxy, naming the proxy field and hiding credentials", () => {
    const fails = (settings: { proxy?: string }, env: NodeJS.ProcessEnv, pattern: RegExp) =>
      assert.throws(
        () => proxyRoute(settings, env),
        (err: unknown) => {
          assert.ok(err instanceof DataverseError);
          assert.equal(err.code, "InvalidConnection");
          assert.equal(err.field, "proxy");
          assert.match(err.message, pattern);
          assert.doesNotMatch(err.message, /s3cret/);
          return true;
        },
      );
    fails({ proxy: "socks5://proxy:1080" }, {}, /^Proxy must be an http:\/\/ or https:\/\/ proxy .*not socks5:\/\//);
    fails({ proxy: "http://ann:s3cret@exa mple:80" }, {}, /^Proxy must be a URL such as http:\/\/proxy\.contoso\.com:8080, not 'http:\/\/exa mple:80'/);
    fails({}, { HTTPS_PROXY: "http://ann:s3cret@[bad" }, /^The proxy in HTTPS_PROXY must be a URL/);
    // The setting is saved and exported with the flow: its credentials belong in the credentials.
    fails({ proxy: "http://ann:s3cret@proxy:8080" }, {}, /must not hold a user name or password.*set the proxy to http:\/\/proxy:8080$/);
  });

  it("carries HTTPS only: plain http targets (a managed identity endpoint on the host) go straight", () => {
    const route = proxyRoute({ proxy: "http://proxy:8080" }, { NO_PROXY: ".internal" })!;
    assert.equal(goesThroughProxy(route, new URL("https://contoso.crm.dynamics.com/api/data/v9.2/")), true);
    assert.equal(goesThroughProxy(route, new URL("https://adfs.internal/adfs/oauth2/token")), false);
    assert.equal(goesThroughProxy(route, new URL("http://metadata.local/metadata/identity/oauth2/token")), false);
  });

  it("shows a URL without its user name and password", () => {
    assert.equal(withoutCredentials("http://ann:p@ss@proxy:8080/x"), "http://proxy:8080/x");
    assert.equal(withoutCredentials("ann:pw@proxy:8080"), "proxy:8080");
    assert.equal(withoutCredentials("http://proxy:8080"), "http://proxy:8080");
  });
});

describe("a proxy failure behind an HTTP client error", () => {
  it("keeps its words and code; a refusal or 407 is not retried", () => {
    const cause = new ProxyFailure("Cannot reach the proxy proxy:8080: the connection was refused.", "ECONNREFUSED");
    const wrapped = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED", cause });
    const err = fromNetworkError(wrapped, "contoso.crm.dynamics.com");
    assert.equal(err.message, cause.message);
    assert.equal(err.code, "ECONNREFUSED");
    assert.equal(err.retryable, false);
    assert.equal(fromNetworkError(new ProxyFailure("407", "ProxyAuthenticationRequired"), "h").retryable, false);
    assert.equal(fromNetworkError(new ProxyFailure("slow", "ETIMEDOUT"), "h").retryable, true);
  });
});
