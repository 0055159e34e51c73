// `npm start` stops on SIGINT and SIGTERM sent to the npm process itself, as Docker, systemd and
// process managers send them (not only on Ctrl-C, which signals the whole process group).
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { describe, it } from "node:test";
import assert from "node:assert/strict";

const root = path.resolve(__dirname, "..", "..");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

describe("npm start", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`stops Node-RED and the emulator on ${signal} to the npm process`, { timeout: 120_000 }, async () => {
      const [port, dataversePort, loginPort] = [await freePort(), await freePort(), await freePort()];
      const { NODE_OPTIONS: _loader, ...env } = process.env;
      const npm = spawn("npm", ["start"], {
        cwd: root,
        env: { ...env, PORT: String(port), EMULATOR_DATAVERSE_PORT: String(dataversePort), EMULATOR_LOGIN_PORT: String(loginPort) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      npm.stdout.on("data", (c) => (output += c));
      npm.stderr.on("data", (c) => (output += c));
      const exited = new Promise<number | null>((resolve) => npm.on("exit", (code) => resolve(code)));
      const deadline = Date.now() + 90_000;
      while (!/Started flows/.test(output)) {
        assert.ok(Date.now() < deadline && npm.exitCode === null, `npm start did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const sentAt = Date.now();
      npm.kill(signal);
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("still running"), 20_000))]);
      assert.notEqual(code, "still running", output);
      assert.ok(Date.now() - sentAt < 20_000);
      for (const p of [port, dataversePort, loginPort]) assert.ok(await portOpen(p), `port ${p} was released`);
    });
  }
});
