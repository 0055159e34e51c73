/**
 * Admin HTTP endpoints behind the editor's dialogs: "Test connection" in the connection dialog, and
 * the table and column suggestions in the action node dialogs.
 *
 *   POST /dataverse/test-connection                         (dataverse-connection.write)
 *        body: the connection dialog's values and the config node's id
 *        → {ok: true, userId, businessUnitId, organizationId} | {ok: false, error}
 *   GET  /dataverse/connections/:id/tables                  (dataverse-connection.read)
 *   GET  /dataverse/connections/:id/tables/:table/columns   (dataverse-connection.read)
 *        a deployed connection's tables / a table's columns
 *   GET  /dataverse/connections/:id/operations              (dataverse-connection.read)
 *        a deployed connection's actions and functions
 *   POST /dataverse/tables    body {connection}             (dataverse-connection.write)
 *   POST /dataverse/columns   body {connection, table}      (dataverse-connection.write)
 *   POST /dataverse/operations body {connection}            (dataverse-connection.write)
 *        the same for a connection that is new or changed in the editor (not deployed as it is)
 *        → {ok: true, tables | columns | operations} | {ok: false, error}
 *
 * Values written ${NAME} are read from the environment. A client secret left as the editor shows a
 * stored one (__PWRD__ or empty) is the stored secret of that connection. Answers never hold the secret
 * or a token. Sending dialog values needs write permission, because they decide where the stored
 * secret is sent.
 */
import { createHash } from "node:crypto";
import type { Request, Response } from "express";
import type { Node, NodeAPI } from "node-red";
import {
  asDataverseError,
  DataverseClient,
  DataverseError,
  ErrorCodes,
  type ColumnInfo,
  type ConnectionSettings,
  type OperationInfo,
  type TableInfo,
} from "../client";
import { CREDENTIALS, TEXT_SETTINGS, type ConnectionCredentials, type ConnectionNode } from "./connection-node";
import { tlsOptions } from "./tls";

const TYPE = "dataverse-connection";
/** What the editor shows in a password field when a secret is stored. */
const STORED_PASSWORD = "__PWRD__";
/** Editor requests should answer quickly: at most this long per request, and no retries. */
const EDITOR_TIMEOUT_MS = 30_000;
const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX_ENTRIES = 100;

/** The connection as the editor has it: the dialog's fields, or the unsaved node. */
export type DialogConnection = Partial<Record<"id" | "tls" | "timeout" | "sendX5c" | keyof typeof CREDENTIALS | (typeof TEXT_SETTINGS)[number], unknown>>;

type Answer = { status?: number; body: Record<string, unknown> };

export function registerAdminApi(RED: NodeAPI): void {
  const read = RED.auth.needsPermission(`${TYPE}.read`);
  const write = RED.auth.needsPermission(`${TYPE}.write`);
  const cache = new DialogCache();

  RED.httpAdmin.post("/dataverse/test-connection", write, (req: Request, res: Response) => {
    answer(res, testConnection(RED, asConnection(req.body)));
  });

  RED.httpAdmin.get("/dataverse/connections/:id/tables", read, (req: Request, res: Response) => {
    const tables = fromDeployed(RED, String(req.params.id), (client) => client.listTables());
    answer(res, tables.then(tablesAnswer));
  });
  RED.httpAdmin.get("/dataverse/connections/:id/tables/:table/columns", read, (req: Request, res: Response) => {
    const table = String(req.params.table);
    const columns = fromDeployed(RED, String(req.params.id), (client) => client.listColumns(table));
    answer(res, columns.then(columnsAnswer));
  });

  RED.httpAdmin.get("/dataverse/connections/:id/operations", read, (req: Request, res: Response) => {
    answer(res, fromDeployed(RED, String(req.params.id), (client) => client.listOperations()).then(operationsAnswer));
  });

  RED.httpAdmin.post("/dataverse/tables", write, (req: Request, res: Response) => {
    answer(res, fromDialog(RED, cache, asConnection(req.body?.connection), "tables", (client) => client.listTables()).then(tablesAnswer));
  });
  RED.httpAdmin.post("/dataverse/columns", write, (req: Request, res: Response) => {
    const table = req.body?.table;
    answer(
      res,
      fromDialog(RED, cache, asConnection(req.body?.connection), `columns:${String(table)}`, (client) => client.listColumns(table)).then(columnsAnswer),
    );
  });
  RED.httpAdmin.post("/dataverse/operations", write, (req: Request, res: Response) => {
    answer(res, fromDialog(RED, cache, asConnection(req.body?.connection), "operations", (client) => client.listOperations()).then(operationsAnswer));
  });
}

/** Signs in with the dialog's values and asks WhoAmI; the temporary client is always closed. */
async function testConnection(RED: NodeAPI, dialog: DialogConnection): Promise<Answer> {
  const client = new DataverseClient(settingsFromDialog(RED, dialog));
  try {
    const { row } = await client.whoAmI();
    return { body: { ok: true, userId: row?.UserId, businessUnitId: row?.BusinessUnitId, organizationId: row?.OrganizationId } };
  } finally {
    await client.close();
  }
}

async function fromDeployed<T>(RED: NodeAPI, id: string, load: (client: DataverseClient) => Promise<T>): Promise<T> {
  const node = deployedConnection(RED, id);
  if (!node) {
    throw new DataverseError({
      message: "This connection is not deployed yet: deploy it, or open the node from the editor that holds it",
      status: 404,
      code: ErrorCodes.invalidConnection,
    });
  }
  if (node.problem || !node.client) throw node.problem ?? new DataverseError({ message: "The connection is not ready", code: ErrorCodes.invalidConnection });
  return load(node.client);
}

/** A temporary client with the dialog's values, for a result not in the cache yet. */
async function fromDialog<T>(
  RED: NodeAPI,
  cache: DialogCache,
  dialog: DialogConnection,
  what: string,
  load: (client: DataverseClient) => Promise<T>,
): Promise<T> {
  const settings = settingsFromDialog(RED, dialog);
  return cache.get(fingerprint(settings), what, async () => {
    const client = new DataverseClient(settings);
    try {
      return await load(client);
    } finally {
      await client.close();
    }
  });
}

/** ConnectionSettings from the dialog: ${NAME} values substituted, the stored secret when unchanged. */
export function settingsFromDialog(RED: NodeAPI, dialog: DialogConnection): ConnectionSettings {
  const id = typeof dialog.id === "string" ? dialog.id : "";
  const deployed = deployedConnection(RED, id);
  // Stored credentials only of a dataverse-connection: never another node type's secret.
  const stored = (deployed ? RED.nodes.getCredentials(id) : undefined) as ConnectionCredentials | undefined;
  const env = (value: unknown): string | undefined => {
    if (typeof value !== "string") return undefined;
    if (!value.includes("${")) return value;
    return String(RED.util.evaluateNodeProperty(value, "env", deployed as Node, {}) ?? "");
  };
  // A credential left as the editor shows a stored one (empty, or __PWRD__ for a password) is the stored one.
  const typed = (value: unknown) => typeof value === "string" && value !== "" && value !== STORED_PASSWORD;
  const credentials = Object.keys(CREDENTIALS).map((name) => {
    const key = name as keyof typeof CREDENTIALS;
    return [key, env(typed(dialog[key]) ? dialog[key] : stored?.[key]) || undefined];
  });
  const timeoutSeconds = Number(env(typeof dialog.timeout === "number" ? String(dialog.timeout) : dialog.timeout));
  return {
    ...Object.fromEntries(TEXT_SETTINGS.map((name) => [name, env(dialog[name]) || undefined])),
    ...Object.fromEntries(credentials),
    url: env(dialog.url) ?? "",
    sendX5c: dialog.sendX5c === true || dialog.sendX5c === "true",
    tls: tlsOptions(RED, dialog.tls),
    timeoutMs: Number.isFinite(timeoutSeconds) && timeoutSeconds >= 1 ? Math.min(Math.round(timeoutSeconds) * 1000, EDITOR_TIMEOUT_MS) : EDITOR_TIMEOUT_MS,
    // Someone is waiting in the editor: report a busy or unreachable service at once, without retrying.
    maxRetries: 0,
    maxThrottleWaitMs: 0,
  };
}

function deployedConnection(RED: NodeAPI, id: string): ConnectionNode | undefined {
  const node = id ? (RED.nodes.getNode(id) as ConnectionNode | null) : null;
  return node && node.type === TYPE ? node : undefined;
}

function asConnection(body: unknown): DialogConnection {
  return body && typeof body === "object" && !Array.isArray(body) ? (body as DialogConnection) : {};
}

function tablesAnswer(tables: TableInfo[]): Answer {
  return { body: { ok: true, tables: tables.map(({ entitySetName, displayName, logicalName }) => ({ entitySetName, displayName, logicalName })) } };
}

function operationsAnswer(operations: OperationInfo[]): Answer {
  return { body: { ok: true, operations } };
}

function columnsAnswer(columns: ColumnInfo[]): Answer {
  return { body: { ok: true, columns } };
}

/** Sends the answer, or the error as {ok: false, error}; nothing else of an error leaves the runtime. */
function answer(res: Response, result: Promise<Answer>): void {
  result.then(
    ({ status, body }) => res.status(status ?? 200).json(body),
    (err: unknown) => {
      const error = asDataverseError(err);
      const status = error.code === ErrorCodes.invalidConnection && error.status === 404 ? 404 : 200;
      res.status(status).json({ ok: false, error: error.toJSON() });
    },
  );
}

/**
 * Table and column lists of connections that are new or changed in the editor, for a few minutes, one
 * load at a time per list. (A deployed connection's client keeps its own metadata cache.)
 */
class DialogCache {
  private readonly byFingerprint = new Map<string, Map<string, Entry>>();

  get<T>(fingerprint: string, what: string, load: () => Promise<T>): Promise<T> {
    const entries = this.entriesOf(fingerprint);
    const now = Date.now();
    const hit = entries.get(what);
    if (hit && hit.expires > now) return hit.value as Promise<T>;
    const value = load();
    entries.set(what, { expires: now + CACHE_TTL_MS, value });
    // A failure is not remembered: the next request tries again (after the settings were fixed).
    value.catch(() => {
      if (entries.get(what)?.value === value) entries.delete(what);
    });
    return value;
  }

  private entriesOf(fingerprint: string): Map<string, Entry> {
    let entries = this.byFingerprint.get(fingerprint);
    if (!entries) {
      if (this.byFingerprint.size >= CACHE_MAX_ENTRIES) this.byFingerprint.delete(this.byFingerprint.keys().next().value as string);
      this.byFingerprint.set(fingerprint, (entries = new Map()));
    }
    return entries;
  }
}

interface Entry {
  expires: number;
  value: Promise<unknown>;
}

/** One key per set of connection settings, without keeping the secret itself as a key. */
function fingerprint(settings: ConnectionSettings): string {
  const { tls, ...rest } = settings;
  return createHash("sha256")
    .update(JSON.stringify(rest))
    .update(JSON.stringify(tls ?? null))
    .digest("hex");
}
