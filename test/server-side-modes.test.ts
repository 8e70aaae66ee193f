import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { resolveConfig } from "../src/config/settings.js";
import { buildPlan, runPlan, silentProgress, type ProgressSink } from "../src/index.js";
import type { ServerExtractAction } from "../src/plan/actions.js";
import { sampleDataset, World } from "./helpers/world.js";

describe("server-side modes without AWS", () => {
  let world: World;

  before(async () => {
    // Two tenants with the same data: one back-filled by streaming, one through Aurora's statement.
    const data = sampleDataset(100, 51);
    world = await World.create({
      staging: "file",
      tenants: [
        { id: "AU", pathPrefix: "au", dataset: data },
        { id: "ST", pathPrefix: "st", dataset: data },
      ],
    });
  });
  after(() => world?.destroy());

  it("plan picks streaming and COPY FROM STDIN on MariaDB and PostgreSQL, and says why", async () => {
    const result = await world.runCli(["plan", "--config", world.configDir, "--tenant", "ST"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /extract: +stream \(auto: not Aurora \(10\.\d+\.\d+-MariaDB/);
    assert.match(result.stdout, /load: +postgres \(auto: not Redshift \(PostgreSQL \d+/);
  });

  it("forced Aurora and Redshift modes show their exact statements and the preflight problems; run refuses", async () => {
    const before = await world.altScores("ST");
    const forced = [
      "--config",
      world.configDir,
      "--tenant",
      "ST",
      "--extract",
      "aurora",
      "--load",
      "redshift",
    ];
    const plan = await world.runCli(["plan", ...forced]);
    assert.equal(plan.code, 1, plan.stderr);
    assert.match(
      plan.stdout,
      /INTO OUTFILE S3 'file:\/\/.*\/st\/MigrateAdHoc\/exam_alt_score\/\d{8}_\d{6}_[0-9a-f]{4}\/exam_alt_score'/,
    );
    assert.match(plan.stdout, /IAM_ROLE 'arn:aws:iam::123456789012:role\/rdw-test'/);
    for (const problem of [
      /PROBLEM: +Aurora writes only to S3; staging is file:/,
      /PROBLEM: +warehouse is not Aurora MySQL \(version 10\.\d+/,
      /PROBLEM: +OLAP server is not Redshift \(PostgreSQL/,
      /PROBLEM: +Redshift COPY reads only from S3/,
    ]) {
      assert.match(plan.stdout, problem);
    }
    const run = await world.runBackfill(forced.slice(2));
    assert.equal(run.code, 1);
    assert.match(run.stdout, /ST: failed: preflight: Aurora writes only to S3/);
    assert.deepEqual(await world.altScores("ST"), before);
  });

  it("the exact Aurora statement, written by MariaDB and loaded into PostgreSQL, gives the streaming result", async () => {
    const streamed = await world.runBackfill(["--tenant", "ST", "--extract", "stream"]);
    assert.equal(streamed.code, 0, streamed.stderr);

    const config = resolveConfig({ configDir: world.configDir, tenants: ["AU"], env: process.env });
    const plan = await buildPlan(config, { backup: false, partBytes: 1 << 20, extract: "aurora" });
    const tenant = plan.tenants[0]!;
    assert.ok(tenant.problems.some((problem) => /not Aurora MySQL/.test(problem)));
    const extract = tenant.actions.find((action) => action.step === "extract") as ServerExtractAction;

    // MariaDB writes the same bytes to a local file; only the destination differs from Aurora's.
    const stagingDir = fileURLToPath(tenant.stagingUri);
    await mkdir(stagingDir, { recursive: true });
    for (let dir = stagingDir; dir.startsWith(world.tmp); dir = join(dir, "..")) await chmod(dir, 0o777);
    const part = join(stagingDir, "exam_alt_score.part_00000");
    const aurora = extract.statement.sql;
    assert.match(aurora, /\nINTO OUTFILE S3 '[^']+'\n.*\nMANIFEST ON\nOVERWRITE ON$/);
    extract.statement = {
      ...extract.statement,
      sql: aurora
        .replace(/INTO OUTFILE S3 '[^']+'/, `INTO OUTFILE '${part}'`)
        .replace("\nMANIFEST ON\nOVERWRITE ON", ""),
    };
    // Aurora writes its manifest when the statement ends, before the tool loads.
    const writeManifest: ProgressSink = {
      ...silentProgress,
      step(id, step, expected) {
        if (step === "load") {
          writeFileSync(
            join(stagingDir, "exam_alt_score.manifest"),
            JSON.stringify({ entries: [{ url: `${tenant.stagingUri}exam_alt_score.part_00000` }] }),
          );
        }
        return silentProgress.step(id, step, expected);
      },
    };
    tenant.problems = [];
    const report = await runPlan(plan, { progress: writeManifest, failFast: false });
    assert.equal(report.ok, true, report.tenants[0]!.error);
    assert.deepEqual(await world.altScores("AU"), await world.altScores("ST"));

    const auroraCounts = report.tenants[0]!;
    const streamCounts = JSON.parse(
      (await world.runBackfill(["--tenant", "ST", "--extract", "stream", "--no-backup", "--json"])).stdout,
    ).tenants[0];
    assert.equal(auroraCounts.extracted, streamCounts.extracted);
    assert.deepEqual(auroraCounts.rejected, streamCounts.rejected);
  });
});
