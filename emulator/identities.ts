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
