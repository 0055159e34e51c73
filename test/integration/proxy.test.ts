// Sign-in and the Web API through a real HTTP CONNECT proxy (the `proxy` package) on 127.0.0.1, set on
// the connection or taken from HTTPS_PROXY / NO_PROXY, and the proxy's failures in plain words.
import { mkdtempSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Socket } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createProxy } from "proxy";
import { loadOrCreateCa } from "../../emulator/tls";
import { nodeRedRequire } from "../node-red";
import { connectionNode, credentialsFor, helper, loadFlow, nodes, run, useTestEmulator, type FlowNode } from "./harness";

const debugNode = nodeRedRequire("@node-red/nodes/core/common/21-debug.js");
const tlsNode = nodeRedRequire("@node-red/nodes/core/network/05-tls.js");

const t = useTestEmulator();

const PROXY_USER = "plant-7";
const PROXY_PASSWORD = "pr0xy-S3cret!";

interface RunningProxy {
  url: string;
  port: number;
  /** The CONNECT targets asked for (host:port), in order, authorised or not. */
  connects: string[];
  close(): Promise<void>;
}

async function startProxy(requireAuth = false): Promise<RunningProxy> {
  const server = createProxy(http.createServer());
  const connects: string[] = [];
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => sockets.add(socket).size);
  server.on("connect", (req: http.IncomingMessage) => connects.push(req.url ?? ""));
  if (requireAuth) {
    const expected = `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString("base64")}`;
    server.authenticate = (req) => req.headers["proxy-authorization"] === expected;
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connects,
    close: () =>
      new Promise<void>((resolve) => {
        // Tunnels are detached from the HTTP server: end them, or close() waits for them.
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const whoAmI: FlowNode = { id: "who", type: "dataverse-whoami", connection: "conn", wires: [["out"]] };
const create: FlowNode = { id: "make", type: "dataverse-create", connection: "conn", table: "accounts", tableType: "str", wires: [["out"]] };

let proxy: RunningProxy;
let authProxy: RunningProxy;
before(async () => {
  proxy = await startProxy();
  authProxy = await startProxy(true);
});
after(async () => {
  await proxy.close();
  await authProxy.close();
});
afterEach(() => {
  proxy.connects.length = 0;
  authProxy.connects.length = 0;
});

const loginTarget = () => t.emu.authorityHost;
const dataverseTarget = () => new URL(t.emu.dataverseUrl).host;

describe("a proxy set on the connection", () => {
  it("carries sign-in and the Web API through CONNECT tunnels, kept alive", async () => {
    await loadFlow(t.emu, [whoAmI, create], { connection: connectionNode(t.emu, { proxy: proxy.url }) });
    const who = await run("who", {});
    assert.equal(who.kind, "out", JSON.stringify(who.msg.error));
    const made = await run("make", { payload: { name: "Through the proxy" } });
    assert.equal(made.kind, "out", JSON.stringify(made.msg.error));
    assert.deepEqual(proxy.connects, [loginTarget(), dataverseTarget()], "one tunnel to each: sign-in, then WhoAmI and the create on the same one");
    const row = (await t.api.rows("accounts")).find((r) => r.name === "Through the proxy");
    assert.ok(row, "the create reached Dataverse");
  });

  it("signs in to the proxy with the connection's proxy user and password", async () => {
    await loadFlow(t.emu, [whoAmI], {
      connection: connectionNode(t.emu, { proxy: authProxy.url }),
      credentials: credentialsFor(t.emu, { proxyUsername: PROXY_USER, proxyPassword: PROXY_PASSWORD }),
    });
    const who = await run("who", {});
    assert.equal(who.kind, "out", JSON.stringify(who.msg.error));
    assert.deepEqual(authProxy.connects, [loginTarget(), dataverseTarget()]);
  });

  it("says the proxy user or password is wrong on a 407, and the message reaches Catch", async () => {
    await loadFlow(t.emu, [whoAmI], {
      connection: connectionNode(t.emu, { proxy: authProxy.url }),
      credentials: credentialsFor(t.emu, { proxyUsername: PROXY_USER, proxyPassword: "wrong" }),
    });
    const { kind, msg } = await run("who", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "ProxyAuthenticationRequired");
    assert.match(
      msg.error.message,
      new RegExp(
        `proxy 127\\.0\\.0\\.1:${authProxy.port} did not accept the proxy user name and password \\(HTTP 407 .*\\)\\. Check the connection's proxy user and proxy password`,
      ),
    );
    assert.equal((await t.api.requests()).length, 0, "nothing reached the emulator");
  });

  it("asks for a proxy user and password when the proxy wants them and none are set", async () => {
    await loadFlow(t.emu, [whoAmI], { connection: connectionNode(t.emu, { proxy: authProxy.url }) });
    const { kind, msg } = await run("who", {});
    assert.equal(kind, "caught");
    assert.match(msg.error.message, /asks for a user name and password \(HTTP 407.*Fill in the connection's proxy user and proxy password/);
  });

  it("names the proxy when it refuses the connection", async () => {
    const port = await closedPort();
    await loadFlow(t.emu, [whoAmI], { connection: connectionNode(t.emu, { proxy: `http://127.0.0.1:${port}` }) });
    const { kind, msg } = await run("who", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "ECONNREFUSED");
    assert.match(
      msg.error.message,
      new RegExp(`Cannot reach the proxy 127\\.0\\.0\\.1:${port}: the connection was refused\\. Check the proxy's host and port`),
    );
  });

  it("says so when the proxy cannot reach the sign-in host", async () => {
    const port = await closedPort();
    await loadFlow(t.emu, [whoAmI], { connection: connectionNode(t.emu, { proxy: proxy.url, authority: `127.0.0.1:${port}` }) });
    const { kind, msg } = await run("who", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "ProxyTunnelFailed");
    assert.match(msg.error.message, new RegExp(`proxy 127\\.0\\.0\\.1:${proxy.port} could not open a connection to 127\\.0\\.0\\.1:${port} \\(HTTP 500`));
  });

  it("applies the connection's TLS config to the target through the tunnel", async () => {
    // NODE_EXTRA_CA_CERTS trusts the emulator, so only a CA that did not sign it shows the option applied.
    const otherCa = await loadOrCreateCa(mkdtempSync(path.join(tmpdir(), "other-ca-")));
    const flow: FlowNode[] = [
      { id: "tab", type: "tab", label: "tls" },
      { id: "right", type: "tls-config", cert: "", key: "", ca: t.emu.caPath, verifyservercert: true },
      { id: "wrong", type: "tls-config", cert: "", key: "", ca: otherCa.certPath, verifyservercert: true },
      { ...connectionNode(t.emu, { proxy: proxy.url, tls: "right" }) },
      { ...connectionNode(t.emu, { proxy: proxy.url, tls: "wrong" }), id: "wrongconn" },
      { ...whoAmI, id: "good", z: "tab" },
      { ...whoAmI, id: "bad", z: "tab", connection: "wrongconn" },
      { id: "out", type: "helper", z: "tab", wires: [] },
      { id: "catch-all", type: "catch", z: "tab", scope: null, wires: [["caught"]] },
      { id: "caught", type: "helper", z: "tab", wires: [] },
    ];
    await helper.load([...nodes, tlsNode], flow as Parameters<typeof helper.load>[1], {
      ...credentialsFor(t.emu),
      wrongconn: { clientId: t.emu.clientId, clientSecret: t.emu.clientSecret },
    });
    const good = await run("good", {});
    assert.equal(good.kind, "out", JSON.stringify(good.msg.error));
    const bad = await run("bad", {});
    assert.equal(bad.kind, "caught");
    assert.match(bad.msg.error.message, new RegExp(`Cannot trust the TLS certificate of ${t.emu.authorityHost.replace(/\./g, "\\.")}`));
    assert.equal(proxy.connects.filter((c) => c === loginTarget()).length, 2, "both went through the proxy");
  });

  it("is a connection error when its URL holds a password (the URL is exported with the flow)", async () => {
    await loadFlow(t.emu, [whoAmI], { connection: connectionNode(t.emu, { proxy: `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}` }) });
    const { kind, msg } = await run("who", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "InvalidConnection");
    assert.match(msg.error.message, /must not hold a user name or password.*proxy user and proxy password/);
    assert.ok(!JSON.stringify(msg).includes(PROXY_PASSWORD));
  });

  it("is a connection error naming the proxy field when its URL is bad", async () => {
    await loadFlow(t.emu, [whoAmI], { connection: connectionNode(t.emu, { proxy: "socks5://127.0.0.1:1080" }) });
    const { kind, msg } = await run("who", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "InvalidConnection");
    assert.match(msg.error.message, /Proxy must be an http:\/\/ or https:\/\/ proxy/);
  });

  it("never shows the proxy password: not in a msg, status, log, the output or the exported flow", async () => {
    const output: string[] = [];
    const writes = [process.stdout, process.stderr].map((stream) => {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        output.push(String(chunk));
        return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      return () => (stream.write = write);
    });
    try {
      const inUrl = `http://${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@127.0.0.1:${authProxy.port}`;
      process.env.HTTPS_PROXY = inUrl;
      const debug = { wires: [["out", "dbg"]] };
      const flow: FlowNode[] = [
        { id: "tab", type: "tab", label: "proxy leak" },
        { ...connectionNode(t.emu, { proxy: authProxy.url }) },
        { ...connectionNode(t.emu, { proxy: authProxy.url }), id: "badconn" },
        // No proxy set: HTTPS_PROXY, with the user and password in its URL.
        { ...connectionNode(t.emu), id: "urlconn" },
        { ...whoAmI, ...debug, id: "good", z: "tab" },
        { ...whoAmI, ...debug, id: "bad", z: "tab", connection: "badconn" },
        { ...whoAmI, ...debug, id: "inurl", z: "tab", connection: "urlconn" },
        { id: "dbg", type: "debug", z: "tab", active: true, tosidebar: true, console: true, tostatus: true, complete: "true", targetType: "full" },
        { id: "out", type: "helper", z: "tab", wires: [] },
        { id: "catch-all", type: "catch", z: "tab", scope: null, wires: [["caught", "dbg"]] },
        { id: "caught", type: "helper", z: "tab", wires: [] },
      ];
      const credentials = {
        ...credentialsFor(t.emu, { proxyUsername: PROXY_USER, proxyPassword: PROXY_PASSWORD }),
        badconn: { clientId: t.emu.clientId, clientSecret: t.emu.clientSecret, proxyUsername: PROXY_USER, proxyPassword: `${PROXY_PASSWORD}x` },
        urlconn: { clientId: t.emu.clientId, clientSecret: t.emu.clientSecret },
      };
      await helper.load([...nodes, debugNode], flow as Parameters<typeof helper.load>[1], credentials);
      const messages = [await run("good", {}), await run("bad", {}), await run("inurl", {})];
      assert.deepEqual(
        messages.map((m) => m.kind),
        ["out", "caught", "out"],
      );
      assert.equal(authProxy.connects.length, 2 + 1 + 2, "each connection went through the proxy");
      const exported = (helper as unknown as { _redNodes: { getFlows(): unknown } })._redNodes.getFlows();
      const statuses = ["good", "bad", "inurl", "dbg"].flatMap((id) => (helper.getNode(id) as any).status?.args ?? []);
      const haystacks: Record<string, string> = {
        messages: JSON.stringify(messages),
        statuses: JSON.stringify(statuses),
        log: JSON.stringify(helper.log().args),
        output: output.join(""),
        exportedFlow: JSON.stringify(exported),
      };
      assert.ok(haystacks.log.includes("did not accept the proxy user name and password"), "the 407 was logged (so the log was captured)");
      for (const [where, text] of Object.entries(haystacks)) {
        for (const secret of [PROXY_PASSWORD, inUrl, encodeURIComponent(PROXY_PASSWORD), Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString("base64")]) {
          assert.ok(!text.includes(secret), `the proxy password appears in ${where}`);
        }
      }
    } finally {
      delete process.env.HTTPS_PROXY;
      writes.forEach((restore) => restore());
    }
  });
});

describe("a proxy from the environment (the connection's proxy empty)", () => {
  const names = ["HTTPS_PROXY", "NO_PROXY"];
  const saved = names.map((name) => process.env[name]);
  afterEach(() => names.forEach((name, i) => (saved[i] === undefined ? delete process.env[name] : (process.env[name] = saved[i]))));

  it("takes HTTPS_PROXY, and sends the hosts NO_PROXY names straight", async () => {
    process.env.HTTPS_PROXY = proxy.url;
    process.env.NO_PROXY = `localhost,${loginTarget()}`;
    await loadFlow(t.emu, [whoAmI]);
    const who = await run("who", {});
    assert.equal(who.kind, "out", JSON.stringify(who.msg.error));
    assert.deepEqual(proxy.connects, [dataverseTarget()], "sign-in went straight, the Web API through the proxy");
  });

  it("sends everything straight with NO_PROXY=*", async () => {
    process.env.HTTPS_PROXY = proxy.url;
    process.env.NO_PROXY = "*";
    await loadFlow(t.emu, [whoAmI]);
    assert.equal((await run("who", {})).kind, "out");
    assert.deepEqual(proxy.connects, []);
  });

  it("names the variable when the proxy it points at refuses", async () => {
    const port = await closedPort();
    process.env.HTTPS_PROXY = `127.0.0.1:${port}`;
    await loadFlow(t.emu, [whoAmI]);
    const { kind, msg } = await run("who", {});
    assert.equal(kind, "caught");
    assert.match(msg.error.message, new RegExp(`Cannot reach the proxy 127\\.0\\.0\\.1:${port} \\(from HTTPS_PROXY\\): the connection was refused`));
  });
});
