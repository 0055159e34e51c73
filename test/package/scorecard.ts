/**
 * The Flow Library scorecard, offline: runs node-red-dev's `validate` (the tool flows.nodered.org
 * uses) against this repository with its network calls answered locally, and prints the scorecard
 * and the tool's warnings as JSON on the last line of stdout.
 *
 *   - catalogue.nodered.org/catalogue.json (P08, N01): the small stand-in catalogue in
 *     fixtures/registry.json, or the one in the file given as --catalogue <file>;
 *   - registry.npmjs.org/node-red (P06, P07) and each production dependency's latest version (D03,
 *     through npm-check): `npm view` answers recorded in fixtures/registry.json;
 *   - the dependency tree (D02, through npm-remote-ls): read from the installed node_modules.
 *
 * Any other HTTP request fails the run, so nothing reaches the network.
 * `tsx test/package/scorecard.ts --record` refreshes the recorded npm answers (uses the network).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

const root = path.resolve(__dirname, "../..");
const fixtureFile = path.join(__dirname, "fixtures", "registry.json");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { dependencies?: Record<string, string> };

interface Fixture {
  recorded: string;
  packages: Record<string, { "dist-tags": Record<string, string>; versions: Record<string, { engines?: Record<string, string> }> }>;
  catalogue: { modules: Array<{ id: string; types: string[] }> };
}

export interface ScorecardRun {
  scorecard: Record<string, { test: boolean } & Record<string, unknown>>;
  warnings: string[];
  requests: string[];
}

async function main(): Promise<void> {
  if (process.argv.includes("--record")) return record();
  const fixture = JSON.parse(readFileSync(fixtureFile, "utf8")) as Fixture;
  const catalogueArg = process.argv.indexOf("--catalogue");
  const catalogue = catalogueArg > 0 ? JSON.parse(readFileSync(process.argv[catalogueArg + 1], "utf8")) : fixture.catalogue;
  const requests: string[] = [];
  const warnings: string[] = [];

  // Nothing may go out: every HTTP(S) request that is not answered below fails.
  for (const mod of [http, https] as Array<Record<string, unknown>>) {
    for (const fn of ["request", "get"]) {
      mod[fn] = (target: unknown) => {
        throw new Error(`scorecard runs offline, but something asked for ${String((target as { href?: string })?.href ?? target)}`);
      };
    }
  }

  const devRequire = createRequire(require.resolve("node-red-dev/package.json"));
  // catalogue.nodered.org and registry.npmjs.org, asked through node-red-dev's own axios.
  const axios = devRequire("axios") as { get: (url: string) => Promise<{ data: unknown }> };
  axios.get = async (url: string) => {
    requests.push(url);
    if (url === "https://catalogue.nodered.org/catalogue.json") return { data: catalogue };
    const name = /^https:\/\/registry\.npmjs\.org\/(.+)$/.exec(url)?.[1];
    if (name && fixture.packages[decodeURIComponent(name)]) return { data: fixture.packages[decodeURIComponent(name)] };
    throw new Error(`no recorded answer for ${url}`);
  };
  // npm-remote-ls: the tree of a production dependency, as installed.
  const remoteLs = devRequire("npm-remote-ls") as { ls: (name: string, version: string, flatten: boolean, cb: (list: string[]) => void) => void };
  remoteLs.ls = (name, _version, _flatten, cb) => {
    requests.push(`npm-remote-ls ${name}`);
    cb(installedTree(name, root));
  };
  // npm-check asks package-json for each dependency's versions: the recorded answers.
  const npmCheckIn = createRequire(devRequire.resolve("npm-check"));
  const registryModule = createRequire(npmCheckIn.resolve("./in/get-latest-from-registry.js")).resolve("package-json");
  require(registryModule);
  require.cache[registryModule]!.exports = async (name: string) => {
    requests.push(`npm-check ${name}`);
    const answer = fixture.packages[name];
    if (!answer) throw new Error(`no recorded answer for ${name}`);
    return { name, ...answer };
  };

  const out = mkdtempSync(path.join(os.tmpdir(), "scorecard-"));
  const scorecardFile = path.join(out, "scorecard.json");
  const ValidateCommand = devRequire("./src/commands/validate.js") as {
    run(argv: string[], options?: unknown): Promise<unknown>;
    prototype: { warn(message: string): void; log(message: string): void };
  };
  // The tool's warnings are how it reports a SHOULD it does not score (P04 for an unscoped name).
  const { warn } = ValidateCommand.prototype;
  ValidateCommand.prototype.warn = function (message: string) {
    warnings.push(String(message));
    warn.call(this, message);
  };
  // Its report goes to stderr; stdout carries only the JSON result.
  ValidateCommand.prototype.log = (message: string) => process.stderr.write(`${message}\n`);
  try {
    await ValidateCommand.run(["--path", root, "--output", scorecardFile, "--embed", "true"], path.dirname(require.resolve("node-red-dev/package.json")));
    const scorecard = existsSync(scorecardFile) ? JSON.parse(readFileSync(scorecardFile, "utf8")) : {};
    const run: ScorecardRun = { scorecard, warnings, requests };
    process.stdout.write(`${JSON.stringify(run)}\n`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** name@version of the package and everything it depends on, from node_modules (what npm-remote-ls lists). */
function installedTree(name: string, fromDir: string, seen = new Set<string>()): string[] {
  const dir = installedDir(name, fromDir);
  if (!dir) return [];
  const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string; dependencies?: Record<string, string> };
  const id = `${name}@${manifest.version}`;
  if (seen.has(id)) return [];
  seen.add(id);
  for (const dep of Object.keys(manifest.dependencies ?? {})) installedTree(dep, dir, seen);
  return [...seen];
}

/** Where Node's module resolution finds package `name` from `fromDir`. */
function installedDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Refreshes the recorded npm answers: node-red's dist-tags and engines, each dependency's dist-tags. */
function record(): void {
  const fixture = JSON.parse(readFileSync(fixtureFile, "utf8")) as Fixture;
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const view = (...args: string[]) => JSON.parse(execFileSync(npm, ["view", ...args, "--json"], { encoding: "utf8" }));
  const packages: Fixture["packages"] = {};
  const nodeRedTags = view("node-red", "dist-tags") as Record<string, string>;
  packages["node-red"] = { "dist-tags": nodeRedTags, versions: { [nodeRedTags.latest]: { engines: view(`node-red@${nodeRedTags.latest}`, "engines") } } };
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    const tags = view(dep, "dist-tags") as Record<string, string>;
    packages[dep] = { "dist-tags": tags, versions: Object.fromEntries(Object.values(tags).map((v) => [v, {}])) };
  }
  writeFileSync(fixtureFile, `${JSON.stringify({ ...fixture, recorded: new Date().toISOString().slice(0, 10), packages }, null, 2)}\n`);
  console.log(`recorded ${Object.keys(packages).join(", ")} in ${path.relative(root, fixtureFile)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
