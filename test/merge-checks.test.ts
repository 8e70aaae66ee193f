import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { quotePg } from "../src/dialects/postgres.js";
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

  it("commits the exact result when nothing interferes", async () => {
    const result = await world.runBackfill(["--attempts", "1", "--no-verify"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      await world.altScores("MC"),
      asLines(expectedAltScores(world.tenant("MC").dataset, SINCE)),
    );
  });
});
