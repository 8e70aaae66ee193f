import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { resolveConfig } from "../src/config/settings.js";
import { buildPlan, runPlan, silentProgress } from "../src/index.js";
import { RunJournal } from "../src/run/journal.js";
import { asLines, expectedAltScores } from "./helpers/oracle.js";
import { sampleDataset, World } from "./helpers/world.js";

const SINCE = "2019-11-01 00:00:00";

/** The maintenance window: the plan's first screen, and --stop-after. */
describe("the maintenance window", () => {
  let world: World;

  before(async () => {
    world = await World.create({
      staging: "file",
      tenants: [
        { id: "MA", pathPrefix: "ma", dataset: sampleDataset(30, 71) },
        { id: "MB", pathPrefix: "mb", dataset: sampleDataset(30, 72) },
      ],
    });
  });
  after(() => world?.destroy());

  it("plan starts with a one-screen summary: tenants, rows to extract, an estimated time, problems", async () => {
    const result = await world.runCli([
      "plan",
      "--config",
      world.configDir,
      "--journal-dir",
      world.journalDir,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const head = result.stdout.split("\n").slice(0, 12).join("\n");
    assert.match(head, /^Summary: 2 tenants: 2 ready, 0 with problems, 0 failed preflight$/m);
    assert.match(head, /^ {2}to extract: +~[\d,]+ alt score rows from ~[\d,]+ exams in the window/m);
    assert.match(head, /^ {2}estimate: +~\d+ (s|min) at 49,000 rows\/s \(the benchmark's rate/m);
    assert.match(head, /^ {2}problems: +none$/m);
    assert.ok(result.stdout.indexOf("Summary:") < result.stdout.indexOf("Tenant MA"));
  });

  it("--stop-after that is not a time, or has passed, is refused in one line with exit code 2", async () => {
    for (const [value, message] of [
      [
        "25:00",
        /--stop-after 25:00: expected HH:MM \(this machine's local time\) or a date and time with its zone/,
      ],
      ["2026-11-26 05:30", /--stop-after 2026-11-26 05:30: expected HH:MM/],
      ["2020-01-01T00:00:00Z", /--stop-after 2020-01-01T00:00:00Z: that time has passed/],
    ] as const) {
      const result = await world.runBackfill(["--stop-after", value]);
      assert.equal(result.code, 2, `${value}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    }
  });

  it("no tenant starts after --stop-after: the rest is left for resume, migrate-olap is restored", async () => {
    const before = { MA: await world.altScores("MA"), MB: await world.altScores("MB") };
    const saved = { ...process.env };
    // The command line's environment: the stand-in kubectl first on PATH.
    Object.assign(process.env, world.cliEnv());
    let report;
    try {
      const config = resolveConfig({ configDir: world.configDir, env: process.env });
      const plan = await buildPlan(config, {
        backup: false,
        partBytes: 1 << 20,
        migrate: { kind: "kubectl", deployment: "migrate-olap-deployment" },
      });
      // The window closes while the first tenant runs: the clock passes the end once it is done.
      const stopAfter = new Date(Date.now() + 3_600_000);
      let firstDone = false;
      report = await runPlan(plan, {
        progress: {
          ...silentProgress,
          info: (id, message) => void (id === "MA" && message === "done" && (firstDone = true)),
        },
        failFast: false,
        journalDir: world.journalDir,
        // What `resume` needs to build the plan again, as `run` records it.
        command: {
          configDir: world.configDir,
          tenants: ["MA", "MB"],
          overrides: [],
          since: plan.since,
          backup: false,
          extract: "auto",
          load: "auto",
          partBytes: 1 << 20,
        },
        stopAfter,
        now: () => (firstDone ? stopAfter.getTime() : stopAfter.getTime() - 1),
      });
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
    const [ma, mb] = report.tenants;
    assert.equal(ma!.status, "succeeded", ma!.error);
    assert.equal(mb!.status, "skipped");
    assert.match(
      mb!.error!,
      /^not started: --stop-after .* had passed; rdw-backfill resume \d{8}_\d{6}_[0-9a-f]{4} does it$/,
    );
    assert.deepEqual(await world.altScores("MB"), before.MB, "the tenant after the window is untouched");
    assert.equal((await world.kubectl()).replicas, 3, "migrate-olap is running again");
    assert.equal((await RunJournal.load(world.journalDir, report.runId)).data.status, "stopped");

    const resumed = await world.runCli(world.runArgs("resume", report.runId));
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.deepEqual(
      await world.altScores("MA"),
      asLines(expectedAltScores(world.tenant("MA").dataset, SINCE)),
    );
    assert.deepEqual(
      await world.altScores("MB"),
      asLines(expectedAltScores(world.tenant("MB").dataset, SINCE)),
    );
    assert.equal((await world.kubectl()).replicas, 3);
  });
});
