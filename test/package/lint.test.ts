// Formatting (Prettier) and lint (ESLint with typescript-eslint) of the whole repository, as configured
// in .prettierrc.json and eslint.config.mjs. `npx prettier --write .` and `npx eslint --fix .` fix most.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";
import assert from "node:assert/strict";

const root = path.resolve(__dirname, "..", "..");

function run(bin: string, args: string[]): string {
  try {
    execFileSync(process.execPath, [path.join(root, "node_modules", bin), ...args], {
      cwd: root,
      encoding: "utf8",
      stdio: "pipe",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    return "";
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ""}${e.stderr ?? ""}`.trim() || String(err);
  }
}

describe("code style", () => {
  it("is formatted with Prettier", () => {
    assert.equal(run("prettier/bin/prettier.cjs", ["--list-different", "."]), "", "run: npx prettier --write .");
  });
  it("passes ESLint", () => {
    assert.equal(run("eslint/bin/eslint.js", ["--max-warnings=0", "."]), "", "run: npx eslint .");
  });
});
