import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { quotePg } from "../src/dialects/postgres.js";
import { OLAP_EXAM } from "../demo/install.js";
import { asLines, expectedAltScores } from "./helpers/oracle.js";
import { sampleDataset, World } from "./helpers/world.js";

const SINCE = "2019-11-01 00:00:00";

/**
 * The merge proves the live table before COMMIT from counts and checksums taken after its DELETE
 * and after its INSERT. These tests corrupt the table inside the merge's own transaction, between
 * its statements, with a trigger: the merge must refuse to commit and leave the table as it was.
 */
describe("the merge's checks catch a lost, doubled or changed row before COMMIT", () => {
  let world: World;
  let schema: string;
  let before_: string[];

  before(async () => {
    world = await World.create({
      staging: "file",
      tenants: [{ id: "MC", pathPrefix: "mc", dataset: sampleDataset(60, 31) }],
    });
    schema = quotePg(world.tenant("MC").schema);
    before_ = await world.altScores("MC");
  });
  after(() => world?.destroy());

  /** The first back-filled row the merge inserted, as a subquery. */
  const firstBackfilled = () => `(SELECT min(id) FROM ${schema}.exam_alt_score WHERE migrate_id = -1)`;

  const corruptions: [string, "INSERT" | "DELETE", () => string, RegExp][] = [
    [
      "a back-filled row changed after the insert",
      "INSERT",
      () =>
        `UPDATE ${schema}.exam_alt_score SET scale_score = scale_score + 1 WHERE id = ${firstBackfilled()}`,
      /live checksum = after the replace \+ the back-filled rows'/,
    ],
    [
      "two back-filled rows that swap their scale scores (every column's sum stays the same)",
      "INSERT",
      () => {
        const backfilled = `SELECT id, scale_score FROM ${schema}.exam_alt_score WHERE migrate_id = -1`;
        const firstScore = `SELECT scale_score FROM ${schema}.exam_alt_score WHERE migrate_id = -1 ORDER BY id LIMIT 1`;
        return `UPDATE ${schema}.exam_alt_score t
                   SET scale_score = CASE WHEN t.id = a.id THEN b.scale_score ELSE a.scale_score END
                  FROM (${backfilled} ORDER BY id LIMIT 1) a,
                       (${backfilled} AND scale_score <> (${firstScore}) ORDER BY id LIMIT 1) b
                 WHERE t.id IN (a.id, b.id)`;
      },
      /live checksum = after the replace \+ the back-filled rows'/,
    ],
    [
      "a back-filled row lost after the insert",
      "INSERT",
      () => `DELETE FROM ${schema}.exam_alt_score WHERE id = ${firstBackfilled()}`,
      /final count = after the replace \+ inserted/,
    ],
    [
      "a back-filled row doubled after the insert",
      "INSERT",
      () =>
        `INSERT INTO ${schema}.exam_alt_score SELECT * FROM ${schema}.exam_alt_score WHERE id = ${firstBackfilled()}`,
      /final count = after the replace \+ inserted/,
    ],
    [
      "a replaced row that comes back after the delete",
      "DELETE",
      () => `INSERT INTO ${schema}.exam_alt_score SELECT * FROM ${schema}.rdw_test_replaced_row`,
      /count after the replace = before - replaced/,
    ],
  ];

  for (const [what, event, corruption, failedCheck] of corruptions) {
    it(`refuses to commit: ${what}`, async () => {
      await world.withPg(async (client) => {
        await client.query(`DROP TABLE IF EXISTS ${schema}.rdw_test_replaced_row`);
        // A row the merge replaces (its key is back-filled), kept aside for the DELETE trigger.
        await client.query(
          `CREATE TABLE ${schema}.rdw_test_replaced_row AS SELECT * FROM ${schema}.exam_alt_score
            WHERE updated >= '${SINCE}' ORDER BY id LIMIT 1`,
        );
        await client.query(`
          CREATE OR REPLACE FUNCTION ${schema}.rdw_test_corrupt() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
            ${corruption()};
            RETURN NULL;
          END $$`);
        await client.query(
          `CREATE TRIGGER rdw_test_corrupt AFTER ${event} ON ${schema}.exam_alt_score
             FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.rdw_test_corrupt()`,
        );
      });
      try {
        const result = await world.runBackfill(["--attempts", "1", "--no-verify"]);
        assert.notEqual(result.code, 0, "the run must fail");
        assert.match(result.stderr + result.stdout, /count check failed, nothing committed/);
        assert.match(result.stderr + result.stdout, failedCheck);
        assert.deepEqual(await world.altScores("MC"), before_, "exam_alt_score is as it was");
      } finally {
        await world.withPg(async (client) => {
          await client.query(`DROP TRIGGER rdw_test_corrupt ON ${schema}.exam_alt_score`);
          await client.query(`DROP TABLE ${schema}.rdw_test_replaced_row`);
        });
      }
    });
  }

  it("refuses to commit when OLAP exam holds two exams for one key and does not enforce its UNIQUE key (as on Redshift)", async () => {
    const { dataset } = world.tenant("MC");
    const olapIds = new Set(dataset.olapExamIds);
    const loadable = new Set(
      dataset.examScores
        .filter((s) => s.subjectScoreId >= 19 && s.scaleScore !== null && s.performanceLevel !== null)
        .map((s) => s.examId),
    );
    const keyOf = (e: (typeof dataset.exams)[number]) => `${e.schoolYear}/${e.asmtId}/${e.studentId}`;
    const olapKeys = new Set(dataset.exams.filter((e) => olapIds.has(e.id)).map(keyOf));
    // A retake OLAP does not hold, with alt scores the extract stages, whose key OLAP holds.
    const retake = dataset.exams.find(
      (e) =>
        !olapIds.has(e.id) &&
        !e.deleted &&
        e.scaleScore !== null &&
        e.performanceLevel !== null &&
        e.updated >= SINCE &&
        loadable.has(e.id) &&
        olapKeys.has(keyOf(e)),
    );
    assert.ok(retake, "the sample has a retake");
    const constraint = await world.withPg(async (client) => {
      const { rows } = await client.query<{ name: string }>(
        `SELECT conname AS name FROM pg_constraint WHERE conrelid = '${schema}.exam'::regclass AND contype = 'u'`,
      );
      return rows[0]!.name;
    });
    await world.withPg(async (client) => {
      await client.query(`ALTER TABLE ${schema}.exam DROP CONSTRAINT ${quotePg(constraint)}`);
      await client.query(
        `INSERT INTO ${schema}.exam (${OLAP_EXAM.columns}) VALUES (${OLAP_EXAM.columns
          .split(",")
          .map((_, i) => `$${i + 1}`)
          .join(", ")})`,
        OLAP_EXAM.values(retake),
      );
    });
    const table = await world.altScores("MC");
    try {
      const result = await world.runBackfill(["--attempts", "1", "--no-verify"]);
      assert.notEqual(result.code, 0, "the run must fail");
      assert.match(
        result.stderr + result.stdout,
        /no key held by two back-filled rows: expected 0, got [1-9]/,
      );
      assert.deepEqual(await world.altScores("MC"), table, "exam_alt_score is as it was");
    } finally {
      await world.withPg(async (client) => {
        await client.query(`DELETE FROM ${schema}.exam WHERE id = $1`, [retake.id]);
        await client.query(
          `ALTER TABLE ${schema}.exam ADD CONSTRAINT ${quotePg(constraint)} UNIQUE (school_year, asmt_id, student_id)`,
        );
      });
    }
  });

  it("commits the exact result when nothing interferes", async () => {
    const result = await world.runBackfill(["--attempts", "1", "--no-verify"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      await world.altScores("MC"),
      asLines(expectedAltScores(world.tenant("MC").dataset, SINCE)),
    );
  });
});
