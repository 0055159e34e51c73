// The environment's users (systemuser rows) and the privileges of the apps' application users that
// request options need: who CallerObjectId may name, and who may bypass custom logic.
import { APPLICATION_USER_ID, CLIENT_OBJECT_ID, LIMITED_CLIENT_ID, LIMITED_OBJECT_ID, type AppRegistration } from "./identities";

/** A person in the tenant who is a user of the environment: the one requests may act for (CallerObjectId). */
export const USER_ID = "c4d5e6f7-a8b9-4c0d-8e1f-2a3b4c5d6e07";
export const USER_OBJECT_ID = "d5e6f7a8-b9c0-4d1e-9f2a-3b4c5d6e7f08";
export const LIMITED_APPLICATION_USER_ID = "f6a5e4d3-c2b1-4a0f-9e8d-7c6b5a493827";

/** Privileges the request options need (CallerObjectId, MSCRM.Bypass… headers). */
export type Privilege = "prvActOnBehalfOfAnotherUser" | "prvBypassCustomPlugins" | "prvBypassCustomBusinessLogic";

const ALL_PRIVILEGES: readonly Privilege[] = ["prvActOnBehalfOfAnotherUser", "prvBypassCustomPlugins", "prvBypassCustomBusinessLogic"];

/** Privilege ids as Dataverse names them in a missing-privilege error. */
export const PRIVILEGE_IDS: Record<Privilege, string> = {
  prvActOnBehalfOfAnotherUser: "0c5bcd47-cbb7-4d7b-a8a3-5f2f6b4b0c1a",
  prvBypassCustomPlugins: "148a9b96-2e3b-4ac5-9a3c-e4a1f0b2c3d4",
  prvBypassCustomBusinessLogic: "2b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e",
};

export interface EnvironmentUser {
  systemUserId: string;
  /** `azureactivedirectoryobjectid`: what CallerObjectId names. */
  objectId: string;
  fullName: string;
}

export const USERS: readonly EnvironmentUser[] = [
  { systemUserId: APPLICATION_USER_ID, objectId: CLIENT_OBJECT_ID, fullName: "# Node-RED Dataverse (emulator)" },
  { systemUserId: LIMITED_APPLICATION_USER_ID, objectId: LIMITED_OBJECT_ID, fullName: "# Limited app (emulator)" },
  { systemUserId: USER_ID, objectId: USER_OBJECT_ID, fullName: "Avery Howard" },
];

export function userByObjectId(objectId: string): EnvironmentUser | undefined {
  const id = objectId.toLowerCase();
  return USERS.find((u) => u.objectId === id);
}

/** An app's application user: the limited app has one of its own without privileges; every other app acts as the main one (as WhoAmI always answered). */
export function applicationUserOf(app: AppRegistration): { systemUserId: string; privileges: readonly Privilege[] } {
  if (app.clientId === LIMITED_CLIENT_ID) return { systemUserId: LIMITED_APPLICATION_USER_ID, privileges: [] };
  return { systemUserId: APPLICATION_USER_ID, privileges: ALL_PRIVILEGES };
}
