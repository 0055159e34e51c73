// Runs before `npm start` and `npm test` so both work on a fresh clone: installs the locked
// dependencies when they are missing. Plain JavaScript, because nothing else is installed yet.
import { execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const needed = ["tsx", "typescript", "node-red", "@azure/msal-node", "axios", "node-forge"];
if (!needed.every((name) => existsSync(`${root}node_modules/${name}/package.json`))) {
  console.log("Installing dependencies (npm ci)…");
  execSync("npm ci --no-audit --no-fund", { cwd: root, stdio: "inherit" });
}
