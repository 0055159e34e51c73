// Fixed identities of the emulated tenant and environment.
// They are public test values: stable across runs so tests, examples and `npm start` can hard-code them.

/** Entra ID tenant id (directory id). */
export const TENANT_ID = "7d6a1c6e-2f4b-4c1a-9a0e-5b3c2d1e0f11";
/** Verified domain of the tenant; an alias accepted wherever the tenant id is. */
export const TENANT_DOMAIN = "contoso.onmicrosoft.com";

/** The main app registration: gets tokens and has an application user in the environment. */
export const CLIENT_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
export const CLIENT_SECRET = "Emu8Q~s3cr3t.V4lue-For_Tests-0nly";

/** App with an application user but none of the privileges request options need (users.ts): 403 when it uses them. */
export const LIMITED_CLIENT_ID = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c05";
export const LIMITED_CLIENT_SECRET = "Lim8Q~n0.Pr1v1leges-F0r_Opt10ns-x5";
export const LIMITED_OBJECT_ID = "8e4b5f60-1c7d-4b9e-8f0a-4d5e6f7a8b05";

/** App whose only secret has expired: every token request ends in AADSTS7000222. */
export const EXPIRED_SECRET_CLIENT_ID = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d02";
export const EXPIRED_SECRET_CLIENT_SECRET = "Exp8Q~0ld.S3cr3t-Exp1red_Long-Ag0";

/** App that gets tokens but has no application user in the environment: Dataverse answers 403. */
export const NO_APP_USER_CLIENT_ID = "4c3b2a19-0f8e-4d7c-b6a5-9483726150a3";
export const NO_APP_USER_CLIENT_SECRET = "NoU8Q~n0.Appl1cati0n-User_Here-x1";

/** App that signs in with a certificate (see credentials.ts): client assertions only, no secret. */
export const CERTIFICATE_CLIENT_ID = "a1b2c3d4-0e1f-4a2b-8c3d-4e5f6a7b8c04";
/** App that trusts a certificate by subject name and issuer (sent with its chain, x5c). */
export const SUBJECT_NAME_CLIENT_ID = "b2c3d4e5-1f2a-4b3c-9d4e-5f6a7b8c9d05";
export const SUBJECT_NAME_CN = "dataverse-client.contoso.test";
/** App with a federated credential (workload identity): the issuer, subject and audience it trusts. */
export const WORKLOAD_CLIENT_ID = "c3d4e5f6-2a3b-4c4d-8e5f-6a7b8c9d0e06";
export const FEDERATED_ISSUER = "https://oidc.prod-aks.emulator.test/7d6a1c6e-2f4b-4c1a-9a0e-5b3c2d1e0f11/cluster-1/";
export const FEDERATED_SUBJECT = "system:serviceaccount:node-red:dataverse";
export const FEDERATED_AUDIENCE = "api://AzureADTokenExchange";

/** Object ids of the apps' service principals (the `oid` claim of their tokens). */
export const CLIENT_OBJECT_ID = "5b1e2c3d-8f4a-4e6b-9c7d-1a2b3c4d5e01";
export const EXPIRED_SECRET_OBJECT_ID = "6c2f3d4e-9a5b-4f7c-8d8e-2b3c4d5e6f02";
export const NO_APP_USER_OBJECT_ID = "7d3a4e5f-0b6c-4a8d-9e9f-3c4d5e6f7a03";

/** WhoAmI answer for the main app: its application user, business unit and organization. */
export const APPLICATION_USER_ID = "e5f4d3c2-b1a0-4f9e-8d7c-6b5a49382716";
export const BUSINESS_UNIT_ID = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d";
export const ORGANIZATION_ID = "8f9e0d1c-2b3a-4c5d-8e6f-7a8b9c0d1e2f";

/** Base currency of the organization: the `_transactioncurrencyid_value` of rows with money values. */
export const BASE_CURRENCY_ID = "0c3f1a2b-3c4d-4e5f-a617-28394a5b6c7d";
export const BASE_CURRENCY_NAME = "US Dollar";

export interface AppRegistration {
  clientId: string;
  /** The one secret registered on the app. */
  clientSecret: string;
  displayName: string;
  objectId: string;
  /** The secret is correct but past its end date (AADSTS7000222). */
  secretExpired: boolean;
  /** The app has an application user in the Dataverse environment (else 403). */
  hasApplicationUser: boolean;
  /** How the app's client assertions are trusted (see assertions.ts); none = secret only. */
  assertionTrust?: "certificate" | "subjectName" | "federated";
}

export const APPS: readonly AppRegistration[] = [
  {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    displayName: "Node-RED Dataverse (emulator)",
    objectId: CLIENT_OBJECT_ID,
    secretExpired: false,
    hasApplicationUser: true,
  },
  {
    clientId: LIMITED_CLIENT_ID,
    clientSecret: LIMITED_CLIENT_SECRET,
    displayName: "Limited app (emulator)",
    objectId: LIMITED_OBJECT_ID,
    secretExpired: false,
    hasApplicationUser: true,
  },
  {
    clientId: EXPIRED_SECRET_CLIENT_ID,
    clientSecret: EXPIRED_SECRET_CLIENT_SECRET,
    displayName: "Expired secret app (emulator)",
    objectId: EXPIRED_SECRET_OBJECT_ID,
    secretExpired: true,
    hasApplicationUser: true,
  },
  {
    clientId: NO_APP_USER_CLIENT_ID,
    clientSecret: NO_APP_USER_CLIENT_SECRET,
    displayName: "App without application user (emulator)",
    objectId: NO_APP_USER_OBJECT_ID,
    secretExpired: false,
    hasApplicationUser: false,
  },
  ...(
    [
      [CERTIFICATE_CLIENT_ID, "certificate", "Certificate app (emulator)", "8e4b5f6a-1c7d-4b9e-af0a-4d5e6f7a8b04"],
      [SUBJECT_NAME_CLIENT_ID, "subjectName", "Subject name app (emulator)", "9f5c6a7b-2d8e-4caf-b01b-5e6f7a8b9c05"],
      [WORKLOAD_CLIENT_ID, "federated", "Workload identity app (emulator)", "0a6d7b8c-3e9f-4db0-812c-6f7a8b9c0d06"],
    ] as const
  ).map(([clientId, assertionTrust, displayName, objectId]) => ({
    clientId,
    clientSecret: "",
    displayName,
    objectId,
    secretExpired: false,
    hasApplicationUser: true,
    assertionTrust,
  })),
];

export function findApp(clientId: string): AppRegistration | undefined {
  const id = clientId.toLowerCase();
  return APPS.find((a) => a.clientId === id);
}

/** True when `tenant` (a path segment of an authority URL) names the emulated tenant. */
export function isKnownTenant(tenant: string): boolean {
  const t = tenant.toLowerCase();
  return t === TENANT_ID || t === TENANT_DOMAIN;
}

// ---------------------------------------------------------------------------------------------
// Managed identities of the emulated Azure resource Node-RED runs in, reached the App Service way.

/** The IDENTITY_HEADER value App Service gives the process (the endpoint's shared secret). */
export const MANAGED_IDENTITY_HEADER = "emu-identity-header-7c1f2a9e4b6d4e0f";

/** The resource's system-assigned identity: has an application user. */
export const SYSTEM_ASSIGNED_CLIENT_ID = "a1b2c3d4-1111-4a5b-8c6d-7e8f9a0b1c01";
/** A user-assigned identity assigned to the resource, with an application user. */
export const USER_ASSIGNED_CLIENT_ID = "a1b2c3d4-2222-4a5b-8c6d-7e8f9a0b1c02";
/** A user-assigned identity assigned to the resource, without an application user: Dataverse answers 403. */
export const USER_ASSIGNED_NO_APP_USER_CLIENT_ID = "a1b2c3d4-3333-4a5b-8c6d-7e8f9a0b1c03";

export const MANAGED_IDENTITIES: readonly AppRegistration[] = [
  { clientId: SYSTEM_ASSIGNED_CLIENT_ID, displayName: "node-red-app (system-assigned)", objectId: "b2c3d4e5-1111-4b6c-9d7e-8f9a0b1c2d01" },
  { clientId: USER_ASSIGNED_CLIENT_ID, displayName: "node-red-identity", objectId: "b2c3d4e5-2222-4b6c-9d7e-8f9a0b1c2d02" },
  { clientId: USER_ASSIGNED_NO_APP_USER_CLIENT_ID, displayName: "identity-without-app-user", objectId: "b2c3d4e5-3333-4b6c-9d7e-8f9a0b1c2d03" },
].map((identity) => ({
  ...identity,
  clientSecret: "",
  secretExpired: false,
  hasApplicationUser: identity.clientId !== USER_ASSIGNED_NO_APP_USER_CLIENT_ID,
}));

/** The identity a managed-identity token request names: system-assigned without client_id. */
export function findManagedIdentity(clientId: string | undefined): AppRegistration | undefined {
  const id = (clientId ?? SYSTEM_ASSIGNED_CLIENT_ID).toLowerCase();
  return MANAGED_IDENTITIES.find((i) => i.clientId === id);
}

// ---------------------------------------------------------------------------------------------
// On-premises AD FS: server applications of the AD FS application group (AD FS makes GUID client ids
// and long random secrets).

/** A server application allowed to call the organization (Grant-AdfsApplicationPermission), with a CRM application user. */
export const ADFS_CLIENT_ID = "c3d4e5f6-1111-4c7d-8e9f-0a1b2c3d4e01";
export const ADFS_CLIENT_SECRET = "Adfs_3mulat0r-S3cret_Generated-By-ADFS_0nly4Tests";
/** A server application without permission on the organization: AD FS answers MSIS9605. */
export const ADFS_NO_PERMISSION_CLIENT_ID = "c3d4e5f6-2222-4c7d-8e9f-0a1b2c3d4e02";
export const ADFS_NO_PERMISSION_CLIENT_SECRET = "Adfs_N0-Perm1ssion_S3cret-For_Tests-0nly_xxxxxxxx";

export interface AdfsClient extends AppRegistration {
  /** Granted access to the organization's resource (Grant-AdfsApplicationPermission). */
  permitted: boolean;
}

export const ADFS_CLIENTS: readonly AdfsClient[] = [
  { clientId: ADFS_CLIENT_ID, clientSecret: ADFS_CLIENT_SECRET, displayName: "Node-RED (AD FS server application)", permitted: true },
  { clientId: ADFS_NO_PERMISSION_CLIENT_ID, clientSecret: ADFS_NO_PERMISSION_CLIENT_SECRET, displayName: "No permission (AD FS)", permitted: false },
].map((c, i) => ({ ...c, objectId: `d4e5f6a7-${i}${i}${i}${i}-4d8e-9f0a-1b2c3d4e5f0${i + 1}`, secretExpired: false, hasApplicationUser: true }));

export function findAdfsClient(clientId: string): AdfsClient | undefined {
  const id = clientId.toLowerCase();
  return ADFS_CLIENTS.find((c) => c.clientId === id);
}
