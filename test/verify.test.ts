import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { altScoreRow, altScoreValues, type AltScoreRow, type Dataset } from "../demo/dataset.js";
import { insertAltRows, WAREHOUSE_EXAM_SCORE } from "../demo/install.js";
import { quoteMysql } from "../src/dialects/mysql.js";
import { quotePg } from "../src/dialects/postgres.js";
import type { OlderMissing, TenantVerification } from "../src/steps/results.js";
import { expectedAltScores } from "./helpers/oracle.js";
import { sampleDataset, World } from "./helpers/world.js";

const SINCE = "2019-11-01 00:00:00";

describe("verify", () => {
  let world: World;
  let live: string;
  let backfilled: AltScoreRow[];

  const verify = async (): Promise<{ code: number; result: TenantVerification }> => {
    const run = await world.runCli(["verify", "--config", world.configDir, "--json"]);
    return { code: run.code, result: (JSON.parse(run.stdout) as TenantVerification[])[0]! };
  };
  const check = (result: TenantVerification, name: string) => result.checks.find((c) => c.name === name)!;
  const failing = (result: TenantVerification) => result.checks.filter((c) => !c.ok).map((c) => c.name);

  /** Applies a corruption, verifies, and puts the table back as it was. */
  async function verifyCorrupted(corrupt: string, repair: string): Promise<TenantVerification> {
    await world.withPg((client) => client.query(corrupt));
    try {
      const { code, result } = await verify();
      assert.equal(code, 1);
      return result;
    } finally {
      await world.withPg((client) => client.query(repair));
    }
  }

  before(async () => {
    world = await World.create({
      staging: "file",
      tenants: [{ id: "VF", pathPrefix: "vf", dataset: sampleDataset(150, 81) }],
    });
    live = `${quotePg(world.tenant("VF").schema)}.exam_alt_score`;
    const result = await world.runBackfill(["--no-verify"]);
    assert.equal(result.code, 0, result.stderr);
    backfilled = expectedAltScores(world.tenant("VF").dataset, SINCE).filter((row) => row.migrateId === -1);
  });
  after(() => world?.destroy());

  it("passes every check on a correct back-fill", async () => {
    const { code, result } = await verify();
    assert.equal(code, 0);
    assert.deepEqual(
      result.checks.map((c) => [c.name, c.ok]),
      [
        ["completeness", true],
        ["uniqueness", true],
        ["orphans", true],
        ["values", true],
        ["aggregate report", true],
      ],
    );
    assert.match(check(result, "completeness").detail, new RegExp(`${backfilled.length} rows expected`));
    assert.ok(
      result.levels.length > 0 &&
        result.levels.every((cell) => cell.warehouse === cell.olap && cell.olap > 0),
    );
  });

  it("reads the warehouse at backfill.warehouse-reader.url-server when it is set", async () => {
    const reader = async (server: string) => {
      const run = await world.runCli([
        "verify",
        "--config",
        world.configDir,
        "--json",
        "--set",
        `backfill.warehouse-reader.url-server=${server}`,
      ]);
      return { code: run.code, result: (JSON.parse(run.stdout) as TenantVerification[])[0]! };
    };
    const { servers } = world;
    const working = await reader(`${servers.mysql.host}:${servers.mysql.port}`);
    assert.equal(working.code, 0, working.result.error);
    // Nothing listens on port 9: the reader, not the warehouse, is what verify connects to.
    const unreachable = await reader(`${servers.mysql.host}:9`);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.result.error!, /warehouse reader .*:9/);
  });

  it("finds a duplicate key", async () => {
    const row = backfilled[0]!;
    const result = await verifyCorrupted(
      `INSERT INTO ${live} SELECT id + 900000000, exam_id, subject_score_id, student_id, asmt_id, school_year, scale_score,
         performance_level, completed_at, migrate_id, updated, update_import_id FROM ${live} WHERE id = ${row.id}`,
      `DELETE FROM ${live} WHERE id = ${row.id + 900000000}`,
    );
    assert.deepEqual(check(result, "uniqueness").examples, [
      `2 rows, e.g. ids ${row.id} and ${row.id + 900000000}`,
    ]);
    assert.deepEqual(check(result, "completeness").examples, [`extra ${row.id + 900000000}`]);
  });

  it("finds a missing row", async () => {
    const row = backfilled[1]!;
    const values = altScoreValues(row, (utc) => `'${utc}+00'`).join(", ");
    const result = await verifyCorrupted(
      `DELETE FROM ${live} WHERE id = ${row.id}`,
      `INSERT INTO ${live} VALUES (${values})`,
    );
    assert.deepEqual(failing(result), ["completeness", "aggregate report"]);
    assert.deepEqual(check(result, "completeness").examples, [`missing ${row.id}`]);
  });

  it("finds an orphan", async () => {
    const result = await verifyCorrupted(
      `INSERT INTO ${live} VALUES (777000001, 999999999, 19, 1, 1, 2020, 2500, 2, now(), -1, now(), 1)`,
      `DELETE FROM ${live} WHERE id = 777000001`,
    );
    assert.deepEqual(failing(result), ["orphans"]);
    assert.deepEqual(check(result, "orphans").examples, ["orphan 777000001"]);
  });

  it("finds a changed value", async () => {
    const row = backfilled[2]!;
    const result = await verifyCorrupted(
      `UPDATE ${live} SET scale_score = scale_score + 7 WHERE id = ${row.id}`,
      `UPDATE ${live} SET scale_score = scale_score - 7 WHERE id = ${row.id}`,
    );
    assert.deepEqual(failing(result), ["values"]);
    assert.deepEqual(check(result, "values").examples, [`changed ${row.id}`]);
  });

  it("finds a row for an exam that is not the latest", async () => {
    const data = world.tenant("VF").dataset;
    const inOlap = new Set(data.olapExamIds);
    const olapKeys = new Set(
      data.exams.filter((e) => inOlap.has(e.id)).map((e) => `${e.studentId}/${e.asmtId}/${e.schoolYear}`),
    );
    const retake = data.exams.find(
      (e) =>
        !inOlap.has(e.id) &&
        !e.deleted &&
        e.updated >= SINCE &&
        olapKeys.has(`${e.studentId}/${e.asmtId}/${e.schoolYear}`) &&
        data.examScores.some(
          (s) =>
            s.examId === e.id &&
            s.subjectScoreId >= 19 &&
            s.scaleScore !== null &&
            s.performanceLevel !== null,
        ),
    )!;
    const score = data.examScores.find(
      (s) => s.examId === retake.id && s.subjectScoreId >= 19 && s.scaleScore !== null,
    )!;
    await world.withPg((client) =>
      insertAltRows(client, world.tenant("VF").schema, [altScoreRow(retake, score, -1)]),
    );
    try {
      const { code, result } = await verify();
      assert.equal(code, 1);
      assert.ok(
        failing(result).includes("orphans") && failing(result).includes("uniqueness"),
        failing(result).join(),
      );
      assert.deepEqual(check(result, "orphans").examples, [`orphan ${score.id}`]);
    } finally {
      await world.withPg((client) => client.query(`DELETE FROM ${live} WHERE id = ${score.id}`));
    }
  });

  it("shows the duplicates of a tenant back-filled by hand with the runbook", async () => {
    const database = quoteMysql(world.tenant("VF").warehouseDatabase);
    const rows = await world.withMysql(async (connection) => {
      const [result] = await connection.query(
        `SELECT wes.id, wes.exam_id, wes.subject_score_id, we.student_id, we.asmt_id, we.school_year, wes.scale_score,
           wes.performance_level, we.completed_at, -1 AS migrate_id, we.updated, we.update_import_id
         FROM ${database}.exam we JOIN ${database}.exam_score wes ON we.id = wes.exam_id
         WHERE we.deleted = 0 AND we.updated >= '2019-11-01 00:00:00.0' AND we.scale_score IS NOT NULL
           AND we.performance_level IS NOT NULL AND wes.performance_level IS NOT NULL AND wes.subject_score_id IN (19, 20, 21)
           AND wes.scale_score IS NOT NULL`,
      );
      return result as Record<string, string | number>[];
    });
    await world.withPg(async (client) => {
      await client.query(`DELETE FROM ${live} WHERE true`); // the runbook's step
      for (const row of rows) {
        await client.query(
          `INSERT INTO ${live} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ($9 || '+00')::timestamptz, $10, ($11 || '+00')::timestamptz, $12)`,
          Object.values(row),
        );
      }
    });
    const { code, result } = await verify();
    assert.equal(code, 1);
    assert.ok(failing(result).includes("uniqueness"), failing(result).join());
    assert.ok(failing(result).includes("orphans"));
    assert.match(check(result, "uniqueness").detail, /\d+ keys are held by more than one row/);
  });

  it("shows the losses of a runbook load whose COPY failed after `DELETE … WHERE true`", async () => {
    await world.withPg((client) => client.query(`DELETE FROM ${live} WHERE true`));
    const { code, result } = await verify();
    assert.equal(code, 1);
    assert.deepEqual(failing(result), ["completeness", "aggregate report"]);
    const examples = check(result, "completeness").examples;
    assert.equal(examples.length, 5);
    assert.ok(examples.every((example) => /^missing \d+$/.test(example)));
    assert.match(check(result, "completeness").detail, /rows missing/);
  });

  it("reports, as information, the older exams whose alt scores the runbook's DELETE … WHERE true lost, and the --since that brings them back", async () => {
    // The runbook's end state: every row deleted, then only the window's rows loaded.
    await world.withPg((client) => client.query(`DELETE FROM ${live} WHERE true`));
    const windowOnly = await world.runBackfill(["--no-verify", "--no-backup"]);
    assert.equal(windowOnly.code, 0, windowOnly.stderr);
    // An exam rescored later: a lost exam gets a second alt score row with the highest id, so that
    // its rows lie in both of verify's ranges of exam_score ids, and it must still count once.
    const { dataset, warehouseDatabase } = world.tenant("VF");
    const lostBefore = olderLost(dataset, SINCE);
    const summativeAlt = dataset.subjectScores
      .filter((s) => s.scoreTypeId === 2 && s.asmtTypeId === 3)
      .map((s) => s.id);
    const firstLost = dataset.examScores.find(
      (score) =>
        summativeAlt.includes(score.subjectScoreId) &&
        olderLost({ ...dataset, examScores: [score] }, SINCE).bySchoolYear.length > 0,
    )!;
    const ids = dataset.examScores.map((score) => score.id);
    const lastId = Math.max(...ids);
    assert.ok(firstLost.id < (Math.min(...ids) + lastId) / 2, "its first row is in the first range");
    const rescored = {
      ...firstLost,
      id: lastId + 1,
      subjectScoreId: summativeAlt.find((id) => id !== firstLost.subjectScoreId)!,
    };
    await world.withMysql((connection) =>
      connection.query(
        `INSERT INTO ${quoteMysql(warehouseDatabase)}.exam_score (${WAREHOUSE_EXAM_SCORE.columns}) VALUES (?)`,
        [WAREHOUSE_EXAM_SCORE.values(rescored)],
      ),
    );
    dataset.examScores.push(rescored);
    const expected = olderLost(dataset, SINCE);
    assert.ok(expected.bySchoolYear.length > 0, "the dataset has scored exams older than the window");
    const totals = (older: OlderMissing) =>
      older.bySchoolYear.reduce((sum, year) => [sum[0]! + year.exams, sum[1]! + year.rows], [0, 0]);
    assert.deepEqual(totals(expected), [totals(lostBefore)[0], totals(lostBefore)[1]! + 1]);

    const { result } = await verify();
    assert.deepEqual(result.older, expected);
    const text = await world.runCli(["verify", "--config", world.configDir]);
    assert.match(
      text.stdout,
      /info {2}older exams: [\d,]+ OLAP exams updated before the window have alt scores/,
    );
    assert.ok(text.stdout.includes(`run with --since ${expected.since} to bring them back`), text.stdout);

    const back = await world.runBackfill(["--no-verify", "--no-backup", "--since", expected.since!]);
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual((await verify()).result.older, { bySchoolYear: [] });
  });
});

/**
 * The oracle, from the generated data alone: OLAP exams updated before `since`, not deleted and
 * scored in the warehouse, with loadable alt scores; per school year, and the earliest day.
 */
function olderLost(data: Dataset, since: string): OlderMissing {
  const inOlap = new Set(data.olapExamIds);
  const altIds = new Set(
    data.subjectScores.filter((s) => s.scoreTypeId === 2 && s.asmtTypeId !== 2).map((s) => s.id),
  );
  const exams = new Map(data.exams.map((exam) => [exam.id, exam]));
  const rowsByExam = new Map<number, number>();
  for (const score of data.examScores) {
    const exam = exams.get(score.examId)!;
    const eligible =
      altIds.has(score.subjectScoreId) &&
      inOlap.has(exam.id) &&
      !exam.deleted &&
      exam.updated < since &&
      exam.scaleScore !== null &&
      exam.performanceLevel !== null &&
      score.scaleScore !== null &&
      score.performanceLevel !== null;
    if (eligible) rowsByExam.set(exam.id, (rowsByExam.get(exam.id) ?? 0) + 1);
  }
  const years = new Map<number, { exams: number; rows: number }>();
  let earliest: string | undefined;
  for (const [id, rows] of rowsByExam) {
    const exam = exams.get(id)!;
    const year = years.get(exam.schoolYear) ?? { exams: 0, rows: 0 };
    years.set(exam.schoolYear, { exams: year.exams + 1, rows: year.rows + rows });
    if (earliest === undefined || exam.updated < earliest) earliest = exam.updated;
  }
  const bySchoolYear = [...years]
    .sort(([a], [b]) => a - b)
    .map(([schoolYear, counts]) => ({ schoolYear, ...counts }));
  return earliest ? { bySchoolYear, since: earliest.slice(0, 10) } : { bySchoolYear };
}
