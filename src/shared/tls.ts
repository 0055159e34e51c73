import type { Node, NodeAPI } from "node-red";
import { DataverseError, ErrorCodes, type TlsOptions } from "../client";

interface TlsConfigNode extends Node {
  addTLSOptions(options: Record<string, unknown>): Record<string, unknown>;
}

/** The TLS options of the tls-config node a connection refers to, if any. */
export function tlsOptions(RED: NodeAPI, tlsId: unknown): TlsOptions | undefined {
  if (typeof tlsId !== "string" || tlsId === "" || tlsId === "_ADD_") return undefined;
  const tlsNode = RED.nodes.getNode(tlsId) as TlsConfigNode | null;
  if (!tlsNode || typeof tlsNode.addTLSOptions !== "function") {
    throw new DataverseError({
      message: "The TLS configuration chosen for this connection is not deployed: deploy it, or clear the connection's TLS field",
      code: ErrorCodes.invalidConnection,
    });
  }
  const { ca, cert, key, passphrase, servername, rejectUnauthorized } = tlsNode.addTLSOptions({}) as TlsOptions;
  return { ca, cert, key, passphrase, servername, rejectUnauthorized };
}
