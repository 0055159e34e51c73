// The Flow Library scorecard (node-red-dev validate) passes every check it can run, offline: its
// catalogue and registry questions are answered by test/package/scorecard.ts.
import { it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ScorecardRun } from "./scorecard";

const script = path.join(__dirname, "scorecard.ts");
const checks = ["P01", "P03", "P04", "P05", "P06", "P07", "P08", "N01", "N02", "D01", "D02", "D03"];

function scorecard(...args: string[]): Promise<ScorecardRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split("\n").pop()!));
    });
  });
}

it("passes every scorecard check; the only warning is P04, a scoped name for new packages", async () => {
  const { scorecard: card, warnings, requests } = await scorecard();
  for (const check of checks) assert.equal(card[check]?.test, true, `${check}: ${JSON.stringify(card[check])}`);
  // N02: every node is in an example.
  assert.deepEqual(card.N02.nodes, [
    "dataverse-whoami",
    "dataverse-retrieve",
    "dataverse-create",
    "dataverse-update",
    "dataverse-query",
    "dataverse-delete",
    "dataverse-batch",
    "dataverse-relate",
    "dataverse-action",
    "dataverse-file",
    "dataverse-changes",
  ]);
  assert.deepEqual(card.P06.versions, ["5.0.7"]);
  // node-red-contrib-dataverse is the name the project chose; the tool asks new packages for a scoped
  // name (@scope/node-red-…) with this warning, and still records P04 as passed.
  assert.deepEqual(warnings, ["P04 New Packages should use a scoped name"]);
  // Each network-backed check really asked its (stand-in) source.
  for (const asked of [
    "https://catalogue.nodered.org/catalogue.json",
    "https://registry.npmjs.org/node-red",
    "npm-remote-ls @azure/msal-node",
    "npm-check axios",
  ]) {
    assert.ok(requests.includes(asked), `asked ${asked}: ${requests.join(", ")}`);
  }
});

it("the stand-in catalogue is really consulted: a module that already has a type name fails N01", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "scorecard-"));
  try {
    const { catalogue } = JSON.parse(readFileSync(path.join(__dirname, "fixtures", "registry.json"), "utf8"));
    const file = path.join(dir, "catalogue.json");
    writeFileSync(file, JSON.stringify({ modules: [...catalogue.modules, { id: "node-red-contrib-other", types: ["dataverse-whoami"] }] }));
    const { scorecard: card, warnings } = await scorecard("--catalogue", file);
    assert.equal(card.N01.test, false);
    assert.deepEqual(card.N01.nodes, ["node-red-contrib-other"]);
    assert.ok(
      warnings.some((w) => w.includes("Duplicate nodename dataverse-whoami")),
      warnings.join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
