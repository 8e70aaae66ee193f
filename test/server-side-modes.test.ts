import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { resolveConfig } from "../src/config/settings.js";
import { buildPlan, runPlan, silentProgress } from "../src/index.js";
import type { CheckStagingAction, ServerExtractAction } from "../src/plan/actions.js";
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

  /**
   * A plan whose extract is Aurora's exact statement, written by MariaDB to a local file (the
   * same bytes; only the destination differs), or, with `part: "none"`, a statement that writes
   * no part at all (Aurora's output for zero rows is not documented: both must work).
   */
  async function auroraPlanOnMariaDb(
    tenantId: string,
    options: { since?: string; part?: "file" | "none"; probeSql?: string } = {},
  ) {
    const config = resolveConfig({
      configDir: world.configDir,
      tenants: [tenantId],
      env: process.env,
      ...(options.since ? { since: options.since } : {}),
    });
    const plan = await buildPlan(config, { backup: false, partBytes: 1 << 20, extract: "aurora" });
    const tenant = plan.tenants[0]!;
    assert.ok(tenant.problems.some((problem) => /not Aurora MySQL/.test(problem)));
    const extract = tenant.actions.find((action) => action.step === "extract") as ServerExtractAction;
    const stagingDir = fileURLToPath(tenant.stagingUri);
    await mkdir(stagingDir, { recursive: true });
    for (let dir = stagingDir; dir.startsWith(world.tmp); dir = join(dir, "..")) await chmod(dir, 0o777);
    const part = join(stagingDir, "exam_alt_score.part_00000");
    const aurora = extract.statement.sql;
    assert.match(aurora, /\nINTO OUTFILE S3 '[^']+'\n.*\nOVERWRITE ON$/);
    const local =
      options.part === "none"
        ? "SELECT 1 FROM DUAL WHERE FALSE"
        : aurora.replace(/INTO OUTFILE S3 '[^']+'/, `INTO OUTFILE '${part}'`).replace("\nOVERWRITE ON", "");
    extract.statement = {
      ...extract.statement,
      sql: local,
      params: options.part === "none" ? [] : extract.statement.params,
    };
    // Aurora MySQL 3's SET ROLE ALL is not MariaDB's; the probe goes to a local file in its folder.
    tenant.sessions.warehouse = tenant.sessions.warehouse.filter(
      (statement) => statement.sql !== "SET ROLE ALL",
    );
    const check = tenant.actions.find((action) => action.step === "check-staging") as CheckStagingAction;
    const probe = check.auroraProbe!;
    const probeDir = fileURLToPath(probe.folderUri);
    await mkdir(probeDir, { recursive: true });
    await chmod(probeDir, 0o777);
    probe.statement = {
      ...probe.statement,
      sql: (options.probeSql ?? probe.statement.sql)
        .replace(/INTO OUTFILE S3 '[^']+'/, `INTO OUTFILE '${join(probeDir, "probe.part_00000")}'`)
        .replace("\nOVERWRITE ON", ""),
    };
    tenant.problems = [];
    return { plan, probeDir };
  }

  it("the exact Aurora statement, written by MariaDB and loaded into PostgreSQL, gives the streaming result", async () => {
    const streamed = await world.runBackfill(["--tenant", "ST", "--extract", "stream"]);
    assert.equal(streamed.code, 0, streamed.stderr);

    const { plan, probeDir } = await auroraPlanOnMariaDb("AU");
    const report = await runPlan(plan, { progress: silentProgress, failFast: false });
    assert.equal(report.ok, true, report.tenants[0]!.error);
    assert.deepEqual(readdirSync(probeDir), [], "the probe was written and deleted");
    assert.deepEqual(await world.altScores("AU"), await world.altScores("ST"));
    // The tool's own manifest lists the part, mandatory.
    const manifest = JSON.parse(
      readFileSync(join(fileURLToPath(plan.tenants[0]!.stagingUri), "exam_alt_score.manifest"), "utf8"),
    ) as { entries: { url: string; mandatory: boolean }[] };
    assert.deepEqual(
      manifest.entries.map((entry) => [entry.url.replace(plan.tenants[0]!.stagingUri, ""), entry.mandatory]),
      [["exam_alt_score.part_00000", true]],
    );

    const auroraCounts = report.tenants[0]!;
    const streamCounts = JSON.parse(
      (await world.runBackfill(["--tenant", "ST", "--extract", "stream", "--no-backup", "--json"])).stdout,
    ).tenants[0];
    assert.equal(auroraCounts.extracted, streamCounts.extracted);
    assert.deepEqual(auroraCounts.rejected, streamCounts.rejected);
  });

  for (const part of ["file", "none"] as const) {
    it(`a --since that selects nothing succeeds with Aurora's extract (${part === "file" ? "an empty part" : "no part"}): zero rows, nothing changed`, async () => {
      const before = await world.altScores("AU");
      const { plan } = await auroraPlanOnMariaDb("AU", { since: "2099-01-01", part });
      const report = await runPlan(plan, { progress: silentProgress, failFast: false });
      const tenant = report.tenants[0]!;
      assert.equal(report.ok, true, tenant.error);
      assert.deepEqual([tenant.extracted, tenant.loaded], [0, 0]);
      assert.deepEqual(await world.altScores("AU"), before);
    });
  }

  it("when Aurora cannot write its probe, the tenant fails before anything is touched, saying what to set", async () => {
    const before = await world.altScores("AU");
    const { plan } = await auroraPlanOnMariaDb("AU", {
      probeSql: "SELECT 1 AS probe INTO OUTFILE '/no/such/folder/probe'",
    });
    const report = await runPlan(plan, { progress: silentProgress, failFast: false });
    const tenant = report.tenants[0]!;
    assert.equal(tenant.status, "failed");
    assert.match(
      tenant.error!,
      /Aurora could not write its probe to file:.*_probe\/ \(.*\): check the S3 privilege, aws_default_s3_role/,
    );
    assert.deepEqual(await world.altScores("AU"), before);
  });

  it("Aurora's extract is watched from a second session: beyond its bound it is stopped and the attempt fails, saying so", async () => {
    const before = await world.altScores("AU");
    const { plan } = await auroraPlanOnMariaDb("AU");
    const extract = plan.tenants[0]!.actions.find(
      (action) => action.step === "extract",
    ) as ServerExtractAction;
    // A statement that would run for a minute; the bound is made short, and looked at often.
    extract.statement = { ...extract.statement, sql: "SELECT SLEEP(60)", params: [] };
    extract.liveness = { ...extract.liveness, everyMs: 200, boundMs: 1500 };
    const started = Date.now();
    const report = await runPlan(plan, { progress: silentProgress, failFast: false, attempts: 1 });
    const tenant = report.tenants[0]!;
    assert.equal(tenant.status, "failed");
    assert.match(
      tenant.error!,
      /the server-side extract ran \d+ s, beyond its bound of 2 s \(last seen: Query.*\); it was stopped/,
    );
    assert.ok(Date.now() - started < 20_000, "the sleeping statement was stopped, not waited for");
    assert.deepEqual(await world.altScores("AU"), before);
    // KILL QUERY ended it on the server too.
    const sleeping = await world.withMysql(async (connection) => {
      const [rows] = await connection.query(
        "SELECT id FROM information_schema.processlist WHERE info = 'SELECT SLEEP(60)'",
      );
      return (rows as unknown[]).length;
    });
    assert.equal(sleeping, 0);
  });

  it("a --since that selects nothing succeeds when streaming: zero rows, nothing changed", async () => {
    const before = await world.altScores("ST");
    const run = await world.runBackfill(["--tenant", "ST", "--since", "2099-01-01", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const tenant = JSON.parse(run.stdout).tenants[0];
    assert.deepEqual([tenant.status, tenant.extracted, tenant.loaded], ["succeeded", 0, 0]);
    assert.deepEqual(await world.altScores("ST"), before);
  });
});
