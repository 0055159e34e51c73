// Where a connection signs in and which Web API path it uses: AD FS URLs, managed identity settings,
// apiVersion, and AD FS's MSIS errors in plain words. Pure functions, no network.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { adfsAuthority } from "../../src/client/clouds";
import { fromSignInError } from "../../src/client/errors";
import { apiPath, checkApiVersion } from "../../src/client/odata";
import { appAuthority } from "../../src/client/signin/app";
import { signInMethod } from "../../src/client/signin";

const field = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { field?: string }).field;
  }
  return undefined;
};

describe("AD FS authority", () => {
  it("is the AD FS host with /adfs, with or without https:// and a trailing slash", () => {
    for (const raw of ["https://adfs.contoso.com/adfs", "adfs.contoso.com/adfs/", "https://ADFS.contoso.com:8443/ADFS"]) {
      const a = adfsAuthority(raw);
      assert.match(a.authority, /^https:\/\/adfs\.contoso\.com(:8443)?\/adfs$/i);
      assert.deepEqual(a.knownAuthorities, [a.host]);
    }
  });

  it("refuses an empty URL, plain http and a path other than /adfs", () => {
    assert.throws(() => adfsAuthority(""), /no AD FS URL is set/);
    assert.throws(() => adfsAuthority("http://adfs.contoso.com/adfs"), /must use https/);
    assert.throws(() => adfsAuthority("https://adfs.contoso.com/"), /followed by \/adfs/);
    assert.throws(() => adfsAuthority("https://adfs.contoso.com/adfs/oauth2/token"), /followed by \/adfs/);
  });

  it("needs no tenant: appAuthority for cloud adfs ignores it", () => {
    const { authority, signIn } = appAuthority({ cloud: "adfs", authority: "https://adfs.contoso.com/adfs", url: "https://crm.contoso.com" });
    assert.equal(authority.authority, "https://adfs.contoso.com/adfs");
    assert.equal(signIn.tenant, "adfs");
  });
});

describe("apiVersion", () => {
  it("defaults to 9.2 and takes 8.0 to 9.2 (a leading v forgiven)", () => {
    assert.equal(checkApiVersion(undefined), "9.2");
    assert.equal(checkApiVersion(" "), "9.2");
    for (const v of ["8.0", "8.1", "8.2", "9.0", "9.1", "9.2"]) assert.equal(checkApiVersion(v), v);
    assert.equal(checkApiVersion("v9.1"), "9.1");
    assert.equal(apiPath("9.0"), "/api/data/v9.0/");
  });

  it("anything else is a connection error on the apiVersion field", () => {
    for (const v of ["9.3", "7.0", "9", "latest", "9.2.1"])
      assert.equal(
        field(() => checkApiVersion(v)),
        "apiVersion",
        v,
      );
  });
});

describe("managed identity settings", () => {
  const check = (clientId?: string) => signInMethod({ authType: "managedIdentity", clientId }).check({ authType: "managedIdentity", clientId });

  it("needs no tenant and no secret; the client ID is empty or a GUID", () => {
    assert.doesNotThrow(() => check());
    assert.doesNotThrow(() => check("a1b2c3d4-2222-4a5b-8c6d-7e8f9a0b1c02"));
    assert.equal(
      field(() => check("my-identity")),
      "clientId",
    );
  });
});

describe("AD FS errors", () => {
  const ctx = { clientId: "c3d4e5f6-1111-4c7d-8e9f-0a1b2c3d4e01", tenant: "adfs", url: "https://crm.contoso.com", authorityHost: "adfs.contoso.com" };
  const answered = (error: string, description: string) => ({ status: 400, body: { error, error_description: description } });

  it("MSIS codes become advice with the code", () => {
    const e = fromSignInError(
      { errorCode: "invalid_client", errorMessage: "MSIS9622: Client authentication failed." },
      ctx,
      answered("invalid_client", "MSIS9622: Client authentication failed."),
    );
    assert.equal(e.code, "MSIS9622");
    assert.match(e.message, /did not accept the client secret/);
    const unknown = fromSignInError({ errorMessage: "MSIS9999: Something else." }, ctx);
    assert.equal(unknown.message, "Sign-in at AD FS failed: MSIS9999: Something else. (MSIS9999)");
  });
});
