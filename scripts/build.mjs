// Compiles src/ into nodes/, copies icons/ to nodes/icons/, where Node-RED's loader looks for them, and
// writes the connection-string parser for the editor, which Node-RED serves from resources/.
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const root = new URL("..", import.meta.url).pathname;
for (const dir of ["nodes/client", "nodes/shared", "nodes/icons"]) rmSync(root + dir, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
cpSync(root + "icons", root + "nodes/icons", { recursive: true });
writeBrowserModule("src/client/connection-string.ts", "resources/dataverse-connection-string.js", "DataverseConnectionString");

/** A module without imports, as a script that puts its exports on window[name]: one parser for both sides. */
function writeBrowserModule(source, target, name) {
  const ts = require("typescript");
  const { outputText } = ts.transpileModule(readFileSync(root + source, "utf8"), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, removeComments: false },
  });
  const header = `// Generated from ${source} by scripts/build.mjs: do not edit.\n`;
  writeFileSync(root + target, `${header}(function () {\n"use strict";\nvar exports = {};\n${outputText}\nwindow.${name} = exports;\n})();\n`);
}
