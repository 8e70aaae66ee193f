import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { resolveConfig } from "../src/config/settings.js";
import { quoteMysql } from "../src/dialects/mysql.js";
import { quotePg } from "../src/dialects/postgres.js";
import { buildPlan, runPlan, silentProgress, type ProgressSink } from "../src/index.js";
import type { RunReport } from "../src/report/summary.js";
import { asLines, expectedAltScores } from "./helpers/oracle.js";
import { sampleDataset, World } from "./helpers/world.js";

const SINCE = "2019-11-01 00:00:00";

/** The runbook's extract query, as an operator would run it (alt ids 19, 20, 21 in this data). */
function runbookExtract(database: string): string {
  const db = quoteMysql(database);
  return `SELECT wes.id, wes.exam_id, wes.subject_score_id, we.student_id, we.asmt_id, we.school_year, wes.scale_score,
       wes.performance_level, we.completed_at, -1, we.updated, we.update_import_id
    FROM ${db}.exam we JOIN ${db}.exam_score wes ON we.id = wes.exam_id
    WHERE we.deleted = 0 AND we.updated >= '2019-11-01 00:00:00.0' AND we.scale_score IS NOT NULL
      AND we.performance_level IS NOT NULL AND wes.performance_level IS NOT NULL AND wes.subject_score_id IN (19, 20, 21)`;
}

describe("the seven defects of the manual runbook are absent", () => {
  let world: World;
  let report: RunReport;
  let expected: string[];
  let schema: string;

  before(async () => {
    world = await World.create({
      staging: "file",
      tenants: [
        {
          id: "OT",
          pathPrefix: "ot",
          dataset: sampleDataset(120, 21),
        },
      ],
    });
    schema = quotePg(world.tenant("OT").schema);
    expected = asLines(expectedAltScores(world.tenant("OT").dataset, SINCE));
    const result = await world.runBackfill(["--json"]);
    assert.equal(result.code, 0, result.stderr);
    report = JSON.parse(result.stdout) as RunReport;
  });
  after(() => world?.destroy());

  const duplicateKeys = () =>
    world.withPg(async (client) => {
      const { rows } = await client.query(
        `SELECT school_year, asmt_id, student_id, subject_score_id FROM ${schema}.exam_alt_score
         GROUP BY 1, 2, 3, 4 HAVING count(*) > 1`,
      );
      return rows.length;
    });

  it("1. duplicates: retakes in the runbook's extract, one row per key after the back-fill", async () => {
    const runbookRows = await world.withMysql(async (connection) => {
      const [rows] = await connection.query(runbookExtract(world.tenant("OT").warehouseDatabase));
      return rows as { school_year: number; asmt_id: number; student_id: number; subject_score_id: number }[];
    });
    const keys = runbookRows.map(
      (r) => `${r.school_year}/${r.asmt_id}/${r.student_id}/${r.subject_score_id}`,
    );
    assert.ok(new Set(keys).size < keys.length, "the runbook's extract has several rows for some key");
    assert.equal(await duplicateKeys(), 0);
    assert.deepEqual(await world.altScores("OT"), expected);
  });

  it("2. silent loss: rows with a NULL alt value are counted by reason with their ids", () => {
    const data = world.tenant("OT").dataset;
    const exams = new Map(data.exams.map((e) => [e.id, e]));
    const inWindow = (examId: number) => {
      const exam = exams.get(examId)!;
      return (
        !exam.deleted && exam.updated >= SINCE && exam.scaleScore !== null && exam.performanceLevel !== null
      );
    };
    const nullScale = data.examScores
      .filter((s) => s.subjectScoreId >= 19 && s.scaleScore === null && inWindow(s.examId))
      .map((s) => String(s.id));
    assert.ok(nullScale.length > 0, "the data has alt scores with a NULL scale score");
    const tenant = report.tenants[0]!;
    const rejection = tenant.rejected.find((r) => r.reason === "null_scale_score");
    assert.equal(rejection?.count, nullScale.length);
    assert.deepEqual(rejection?.exampleIds, nullScale.slice(0, 5));
    const rejected = tenant.rejected.reduce((sum, r) => sum + r.count, 0);
    assert.equal(tenant.extracted, tenant.loaded + rejected);
  });

  it("3. empty window: a failing load leaves the table as it was, never empty", async () => {
    const before = await world.altScores("OT");
    const victim = world.tenant("OT").dataset.olapExamIds.at(-1)!;
    await world.withPg(async (client) => {
      await client.query(`CREATE FUNCTION ${schema}.fail_insert() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
      await client.query(`CREATE TRIGGER fail_insert BEFORE INSERT ON ${schema}.exam_alt_score
        FOR EACH ROW WHEN (NEW.exam_id = ${Number(victim)}) EXECUTE FUNCTION ${schema}.fail_insert()`);
    });
    try {
      const result = await world.runBackfill(["--no-backup"]);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /injected failure/);
      assert.deepEqual(await world.altScores("OT"), before);
    } finally {
      await world.withPg((client) => client.query(`DROP TRIGGER fail_insert ON ${schema}.exam_alt_score`));
    }
  });

  it("3. empty window: a reader polling during a run never sees fewer rows than before", async () => {
    const countNow = () =>
      world.withPg(async (client) =>
        Number((await client.query(`SELECT count(*) AS n FROM ${schema}.exam_alt_score`)).rows[0].n),
      );
    const start = await countNow();
    let running = true;
    const seen: number[] = [];
    const poller = world.withPg(async (client) => {
      while (running)
        seen.push(
          Number((await client.query(`SELECT count(*) AS n FROM ${schema}.exam_alt_score`)).rows[0].n),
        );
    });
    const result = await world.runBackfill(["--no-backup"]);
    running = false;
    await poller;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(seen.length > 10, `the reader polled ${seen.length} times`);
    assert.ok(Math.min(...seen) >= start, `lowest count seen ${Math.min(...seen)} < ${start}`);
  });

  it("4. deletes out of scope: rows the window does not bring back are kept", async () => {
    const outside = world.tenant("OT").dataset.existingAltRows.filter((row) => row.updated < SINCE);
    assert.ok(outside.length > 0, "rows exist that `DELETE … WHERE true` would remove for good");
    const table = new Set(await world.altScores("OT"));
    for (const line of asLines(outside)) assert.ok(table.has(line), line);
  });

  it("5. path reuse: leftovers under the runbook's path and older runs are never loaded", async () => {
    const archive = fileURLToPath(world.uriRoot);
    const bogus = `${world.tenant("OT").dataset.existingAltRows[0]!.id},1,19,1,1,2020,9999,9,"2020-01-01 00:00:00",-1,"2020-01-01 00:00:00",1\n`;
    await mkdir(join(archive, "ot", "MigrateAdHoc", "exam_alt_score", "old-run"), { recursive: true });
    await writeFile(join(archive, "ot", "MigrateAdHoc", "exam_alt_score.part_00000"), bogus);
    await writeFile(
      join(archive, "ot", "MigrateAdHoc", "exam_alt_score", "old-run", "exam_alt_score.part_00000"),
      bogus,
    );
    const result = await world.runBackfill(["--no-backup", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const again = JSON.parse(result.stdout) as RunReport;
    assert.deepEqual(await world.altScores("OT"), expected);
    assert.notEqual(again.tenants[0]!.stagingUri, report.tenants[0]!.stagingUri);
    assert.ok(
      again.tenants[0]!.stagingUri!.startsWith(
        `${world.uriRoot}/ot/MigrateAdHoc/exam_alt_score/${again.runId}/`,
      ),
    );
  });

  it("5. path reuse: a manifest entry outside this run's folder is refused before loading", async () => {
    const before = await world.altScores("OT");
    const config = resolveConfig({ configDir: world.configDir, env: process.env });
    // The load reads the staged parts (as on resume), not the rows as they stream.
    const plan = await buildPlan(config, { backup: false, partBytes: 1024 * 1024, overlapLoad: false });
    const stagingUri = plan.tenants[0]!.stagingUri;
    const pointElsewhere: ProgressSink = {
      ...silentProgress,
      step(tenant, step, expectedRows) {
        if (step === "load") {
          const leftover = `${world.uriRoot}/ot/MigrateAdHoc/exam_alt_score.part_00000`;
          writeFileSync(
            join(fileURLToPath(stagingUri), "exam_alt_score.manifest"),
            JSON.stringify({ entries: [{ url: leftover }] }),
          );
        }
        return silentProgress.step(tenant, step, expectedRows);
      },
    };
    const result = await runPlan(plan, { progress: pointElsewhere, failFast: false });
    assert.match(
      result.tenants[0]!.error ?? "",
      /entry file:.*\/ot\/MigrateAdHoc\/exam_alt_score\.part_00000 is outside this run's folder/,
    );
    assert.deepEqual(await world.altScores("OT"), before);
  });

  it("7. no record: a staged part that loses a row stops the tenant before the live table changes", async () => {
    const before = await world.altScores("OT");
    const config = resolveConfig({ configDir: world.configDir, env: process.env });
    // The load reads the staged parts (as on resume), not the rows as they stream.
    const plan = await buildPlan(config, { backup: false, partBytes: 1024 * 1024, overlapLoad: false });
    const stagingDir = fileURLToPath(plan.tenants[0]!.stagingUri);
    // Between extract and load, drop the last row of the staged part, as a lost object or a
    // COPY with MAXERROR would.
    const tamper: ProgressSink = {
      ...silentProgress,
      step(tenant, step, expectedRows) {
        if (step === "load") dropLastLine(join(stagingDir, "exam_alt_score.part_00000"));
        return silentProgress.step(tenant, step, expectedRows);
      },
    };
    const result = await runPlan(plan, { progress: tamper, failFast: false });
    assert.equal(result.ok, false);
    assert.match(result.tenants[0]!.error ?? "", /count check failed before merge/);
    assert.deepEqual(await world.altScores("OT"), before);
    assert.ok((await readdir(stagingDir)).includes("exam_alt_score.manifest"));
  });
});

/** Synchronous on purpose: the load step starts right after the progress callback returns. */
function dropLastLine(path: string): void {
  const lines = readFileSync(path, "utf8").split("\n");
  writeFileSync(path, lines.slice(0, -2).join("\n") + "\n");
}
