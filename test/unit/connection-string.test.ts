// The .NET connection string parser (src/client/connection-string.ts), shared by the runtime and the editor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectionStringPairs, ConnectionStringError, parseConnectionString } from "../../src/client/connection-string";

const tenant = "7d6a1c6e-2f4b-4c1a-9a0e-5b3c2d1e0f11";
const clientId = "51f81489-12ee-4a9e-aaae-a2591f45987d";
const SECRET = "s3cr3t~;'\"=value";

function fails(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseConnectionString(text),
    (err: unknown) => {
      assert.ok(err instanceof ConnectionStringError);
      assert.match(err.message, pattern);
      for (const part of ["s3cr3t", "hunter2", "passcode"]) assert.ok(!err.message.includes(part), `the error repeats a value: ${err.message}`);
      return true;
    },
  );
}

test("AuthType=ClientSecret with Url, ClientId, ClientSecret and TenantId", () => {
  const text = `AuthType=ClientSecret;Url=https://contoso.crm.dynamics.com/;ClientId=${clientId};ClientSecret=abc123;TenantId=${tenant}`;
  assert.deepEqual(parseConnectionString(text), {
    authType: "secret",
    url: "https://contoso.crm.dynamics.com",
    clientId,
    clientSecret: "abc123",
    tenant,
  });
});

test("keys in any case and order, spaces around = and ;, empty parts, a trailing ;", () => {
  const text = `  clientsecret = abc123 ;; URL= https://contoso.crm.dynamics.com ;APPID =${clientId};  authtype  =  clientSecret ; `;
  assert.deepEqual(parseConnectionString(text), { authType: "secret", url: "https://contoso.crm.dynamics.com", clientId, clientSecret: "abc123" });
});

test("aliases: ServiceUri, Service Uri and Server for Url; AppId and ApplicationId for ClientId; Secret for ClientSecret", () => {
  for (const urlKey of ["ServiceUri", "Service Uri", "Server", "Url"]) {
    for (const idKey of ["ClientId", "AppId", "ApplicationId"]) {
      const values = parseConnectionString(`AuthenticationType=ClientSecret;${urlKey}=https://a.crm.dynamics.com;${idKey}=${clientId};Secret=x`);
      assert.equal(values.url, "https://a.crm.dynamics.com", urlKey);
      assert.equal(values.clientId, clientId, idKey);
      assert.equal(values.clientSecret, "x");
    }
  }
});

test("quoted values: single or double quotes, the quote doubled inside, ; and = inside", () => {
  const quoted = `"${SECRET.replace(/"/g, '""')}"`;
  assert.equal(parseConnectionString(`AuthType=ClientSecret;ClientSecret=${quoted};Url=https://a.crm.dynamics.com`).clientSecret, SECRET);
  const single = `'${SECRET.replace(/'/g, "''")}'`;
  assert.equal(parseConnectionString(`AuthType=ClientSecret; ClientSecret = ${single} ;Url=https://a.crm.dynamics.com`).clientSecret, SECRET);
  assert.deepEqual(connectionStringPairs(`a="";b=' x ';c==d=1`), [
    ["a", ""],
    ["b", " x "],
    ["c=d", "1"],
  ]);
});

test("a later key replaces an earlier one; unknown keys, LoginPrompt and RequireNewInstance are ignored", () => {
  const text = `AuthType=ClientSecret;ClientId=old;LoginPrompt=Never;RequireNewInstance=true;SkipDiscovery=true;ClientId=${clientId};ClientSecret=x`;
  assert.deepEqual(parseConnectionString(text), { authType: "secret", clientId, clientSecret: "x" });
});

test("Authority: the tenant from an Entra ID authority URL, the cloud from its host, AD FS and other hosts", () => {
  const base = "AuthType=ClientSecret;ClientSecret=x;Authority=";
  assert.deepEqual(parseConnectionString(`${base}https://login.microsoftonline.com/${tenant}`), {
    authType: "secret",
    clientSecret: "x",
    tenant,
    cloud: "public",
  });
  assert.deepEqual(parseConnectionString(`${base}https://login.microsoftonline.com/contoso.onmicrosoft.com/`).tenant, "contoso.onmicrosoft.com");
  assert.deepEqual(parseConnectionString(`${base}https://login.microsoftonline.us/${tenant}`), {
    authType: "secret",
    clientSecret: "x",
    tenant,
    cloud: "gcchigh",
  });
  assert.equal(parseConnectionString(`${base}https://login.chinacloudapi.cn/${tenant}`).cloud, "china");
  assert.deepEqual(parseConnectionString(`${base}https://adfs.contoso.com/adfs/`), {
    authType: "secret",
    clientSecret: "x",
    cloud: "adfs",
    authority: "https://adfs.contoso.com/adfs",
  });
  assert.deepEqual(parseConnectionString(`${base}https://login.example.com:8443/${tenant}`), {
    authType: "secret",
    clientSecret: "x",
    tenant,
    cloud: "custom",
    authority: "https://login.example.com:8443",
  });
  // TenantId wins over the authority's tenant
  assert.equal(parseConnectionString(`TenantId=contoso.com;${base}https://login.microsoftonline.com/${tenant}`).tenant, "contoso.com");
});

test("AuthType=Certificate: the thumbprint (Thumbprint, CertThumbprint, CertificateThumbprint), never a client secret", () => {
  for (const key of ["Thumbprint", "CertThumbprint", "CertificateThumbprint"]) {
    const values = parseConnectionString(`AuthType=Certificate;Url=https://a.crm.dynamics.com;ClientId=${clientId};${key}=DE8E…7F;ClientSecret=x`);
    assert.deepEqual(values, { authType: "certificate", url: "https://a.crm.dynamics.com", clientId, thumbprint: "DE8E…7F" });
  }
});

test("AuthTypes that sign in as a person or as Windows get their reason; no AuthType or an unknown one says what to use", () => {
  fails("AuthType=OAuth;Username=jsmith@contoso.onmicrosoft.com;Password=passcode;Url=https://a.crm.dynamics.com", /OAuth signs in as a person.*ClientSecret/);
  fails("AuthType=Office365;UserName=a@b.c;Password=hunter2", /Office365.*retired/);
  fails("AuthType=AD;Url=https://contoso:8080/Test", /AuthType=AD.*Windows account.*AD FS/);
  fails("AuthType=IFD;Url=https://a.contoso.com;Domain=CONTOSO;Username=jsmith;Password=passcode", /IFD.*user name and password.*AD FS/);
  fails("Url=https://a.crm.dynamics.com;ClientSecret=s3cr3t", /no AuthType/);
  fails("AuthType=s3cr3t", /not one this connection knows/);
});

test("a broken grammar names the part, not its text", () => {
  fails("AuthType=ClientSecret;s3cr3t", /part 2 has no '='/);
  fails("AuthType=ClientSecret;ClientSecret='s3cr3t", /part 2 opens a quote/);
  fails("AuthType=ClientSecret;ClientSecret='s3cr3t' s3cr3t;Url=x", /part 2 has text after its closing quote/);
  fails("=s3cr3t;AuthType=ClientSecret", /part 1 has no key/);
  fails("${DATAVERSE_CONNECTION_STRING}", /environment variable \$\{DATAVERSE_CONNECTION_STRING\}, which is not set/);
});
