/**
 * One measured scenario in a fresh process (clean RSS, its own event loop), started by bench/run.ts
 * with the scenario as JSON in argv[2] and NODE_EXTRA_CA_CERTS trusting the emulator. Prints one
 * result line (RESULT_PREFIX + JSON) and exits.
 */
import { printResult, type ScenarioSpec } from "./common";
import { runNodeRed } from "./node-red";
import { runPlain } from "./plain";
import { runQueryPlain } from "./query-plain";

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "") as ScenarioSpec;
  const result =
    spec.scenario === "plain" || spec.scenario === "plain-https"
      ? await runPlain(spec)
      : spec.scenario === "query-plain"
        ? await runQueryPlain(spec)
        : await runNodeRed(spec);
  printResult(result);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
