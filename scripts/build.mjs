// Compiles src/ into nodes/ and copies icons/ to nodes/icons/, where Node-RED's loader looks for them.
import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const root = new URL("..", import.meta.url).pathname;
for (const dir of ["nodes/client", "nodes/shared", "nodes/icons"]) rmSync(root + dir, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
cpSync(root + "icons", root + "nodes/icons", { recursive: true });
