import assert from "node:assert/strict";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { s3ClientConfig } from "../src/io/staging/s3.js";
import type { RunReport } from "../src/report/summary.js";
import { asLines, expectedAltScores } from "./helpers/oracle.js";
import { BUCKET, sampleDataset, World } from "./helpers/world.js";

const SINCE = "2019-11-01 00:00:00";

describe("back-fill of two tenants through an S3-compatible store", () => {
  let world: World;
  let first: RunReport;
  let firstTables: Map<string, string[]>;

  before(async () => {
    world = await World.create({
      staging: "s3",
      tenants: [
        {
          id: "OT",
          pathPrefix: "ot",
          dataset: sampleDataset(150, 11),
        },
        {
          id: "TS_S001",
          pathPrefix: "ts_s001",
          sandbox: true,
          // Not the naming rule: only the tenant user's current_schema() can find it.
          schema: "sandbox_ts_s001_olap",
          dataset: sampleDataset(80, 12),
        },
      ],
    });
    const result = await world.runBackfill(["--json"]);
    assert.equal(result.code, 0, result.stderr);
    first = JSON.parse(result.stdout) as RunReport;
    firstTables = new Map(
      await Promise.all(world.tenants.map(async (t) => [t.id, await world.altScores(t.id)] as const)),
    );
  });
  after(() => world?.destroy());

  it("leaves exam_alt_score exactly in the specified end state, for each tenant", () => {
    for (const tenant of world.tenants) {
      assert.deepEqual(
        firstTables.get(tenant.id),
        asLines(expectedAltScores(tenant.dataset, SINCE)),
        tenant.id,
      );
    }
  });

  it("keeps rows outside the window unchanged", () => {
    for (const tenant of world.tenants) {
      const outOfScope = tenant.dataset.existingAltRows.filter((row) => row.updated < SINCE);
      assert.ok(outOfScope.length > 0, `${tenant.id} has rows outside the window`);
      const table = new Set(firstTables.get(tenant.id));
      for (const line of asLines(outOfScope)) assert.ok(table.has(line), `${tenant.id} kept ${line}`);
    }
  });

  it("accounts for every extracted row in the report: loaded or rejected by reason", () => {
    assert.equal(first.ok, true);
    for (const tenant of first.tenants) {
      const rejected = tenant.rejected.reduce((sum, r) => sum + r.count, 0);
      assert.equal(tenant.extracted, tenant.loaded + rejected, tenant.tenant);
      assert.equal(tenant.finalCount, tenant.kept + tenant.loaded, tenant.tenant);
      assert.ok(tenant.checks.length > 0 && tenant.checks.every((c) => c.ok), tenant.tenant);
      assert.equal(tenant.verification?.ok, true, `${tenant.tenant}: run verified the tenant`);
      assert.equal(tenant.verification?.checks.length, 5);
      const data = world.tenant(tenant.tenant).dataset;
      assert.equal(tenant.finalCount, expectedAltScores(data, SINCE).length);
      assert.equal(tenant.kept + tenant.replaced, data.existingAltRows.length);
    }
  });

  it("stages each tenant under its own path prefix and run id in the shared bucket, with the run's journal", async () => {
    const env = world.s3!.env;
    const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! };
    const s3 = new S3Client({ ...s3ClientConfig(env), credentials });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const keys = (listed.Contents ?? []).map((object) => object.Key!).sort();
    assert.deepEqual(keys, [
      `MigrateAdHoc/rdw-backfill/${first.runId}/journal.json`,
      `ot/MigrateAdHoc/exam_alt_score/${first.runId}/exam_alt_score.manifest`,
      `ot/MigrateAdHoc/exam_alt_score/${first.runId}/exam_alt_score.part_00000`,
      `ts_s001/MigrateAdHoc/exam_alt_score/${first.runId}/exam_alt_score.manifest`,
      `ts_s001/MigrateAdHoc/exam_alt_score/${first.runId}/exam_alt_score.part_00000`,
    ]);
  });

  it("backs up exam_alt_score before changing it", async () => {
    for (const tenant of first.tenants) {
      const data = world.tenant(tenant.tenant).dataset;
      assert.equal(tenant.backupTable, `exam_alt_score_backup_${first.runId}`);
      assert.deepEqual(
        await world.altScores(tenant.tenant, tenant.backupTable!),
        asLines(data.existingAltRows),
      );
    }
  });

  it("writes the summary as JSON and Markdown into the report folder", async () => {
    const result = await world.runBackfill(["--no-backup", "--report-dir", join(world.tmp, "report-files")]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /succeeded/);
    const json = JSON.parse(
      await readFile(join(world.tmp, "report-files", "summary.json"), "utf8"),
    ) as RunReport;
    assert.deepEqual(
      json.tenants.map((t) => t.tenant),
      ["OT", "TS_S001"],
    );
    const markdown = await readFile(join(world.tmp, "report-files", "summary.md"), "utf8");
    assert.match(markdown, /\| OT \| succeeded \|/);
    assert.match(markdown, /rejected: alt scale_score is NULL/);
  });

  it("gives the same table when run again", async () => {
    const result = await world.runBackfill(["--no-backup", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const again = JSON.parse(result.stdout) as RunReport;
    for (const tenant of world.tenants)
      assert.deepEqual(await world.altScores(tenant.id), firstTables.get(tenant.id));
    for (const tenant of again.tenants) assert.equal(tenant.replaced, tenant.loaded, tenant.tenant);
  });

  it("finds a tenant's schema through its user's current_schema()", () => {
    assert.equal(first.tenants[1]!.olapSchema, "sandbox_ts_s001_olap");
  });

  it("goes on with the other tenants when one fails, and stops with --fail-fast", async () => {
    const broken = ["--no-backup", "--json", "--set", "backfill.tenants.OT.olap-schema=no_such_schema"];
    const before = await world.altScores("TS_S001");
    const keepGoing = await world.runBackfill(broken);
    assert.equal(keepGoing.code, 1);
    const report = JSON.parse(keepGoing.stdout) as RunReport;
    assert.deepEqual(
      report.tenants.map((t) => [t.tenant, t.status]),
      [
        ["OT", "failed"],
        ["TS_S001", "succeeded"],
      ],
    );
    assert.match(
      report.tenants[0]!.error!,
      /OLAP schema no_such_schema: table exam_alt_score does not exist/,
    );
    assert.deepEqual(await world.altScores("TS_S001"), before);

    const failFast = await world.runBackfill([...broken, "--fail-fast"]);
    assert.equal(failFast.code, 1);
    const stopped = JSON.parse(failFast.stdout) as RunReport;
    assert.deepEqual(
      stopped.tenants.map((t) => [t.tenant, t.status]),
      [
        ["OT", "failed"],
        ["TS_S001", "skipped"],
      ],
    );
  });
});
