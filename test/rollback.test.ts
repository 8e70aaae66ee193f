import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { quotePg } from "../src/dialects/postgres.js";
import type { RunReport } from "../src/report/summary.js";
import { sampleDataset, World } from "./helpers/world.js";

/** `World.altScores` lines: id|exam_id|subject_score_id|student_id|asmt_id|school_year|…|migrate_id|… */
const field = (line: string, index: number) => line.split("|")[index]!;
const keyOf = (line: string) => [5, 4, 3, 2].map((index) => field(line, index)).join("/");
const idOf = (line: string) => field(line, 0);
const migrateIdOf = (line: string) => field(line, 9);
const MIGRATE_OLAP = 777;

/**
 * `rollback` after migrate-olap ran again: by default only the keys the run back-filled are
 * restored from the backup, and what migrate-olap wrote since stays; `--whole-table` gives the
 * backup exactly. On PostgreSQL and on the Redshift stand-ins, through the command line.
 */
for (const olap of ["postgres", "redshift-stand-in"] as const) {
  describe(`rollback loses nothing migrate-olap wrote since the run (${olap})`, () => {
    let world: World;
    let backup: string[];
    let runId: string;
    let live: string;
    /** The keys migrate-olap wrote after the run, in the simulation below. */
    const rewritten = new Set<string>();

    const rollback = (...extra: string[]) =>
      world.runCli(["rollback", runId, "--yes", "--journal-dir", world.journalDir, ...extra]);

    before(async () => {
      world = await World.create({
        staging: olap === "postgres" ? "file" : "s3",
        olap,
        tenants: [{ id: "RK", pathPrefix: "rk", dataset: sampleDataset(120, 61) }],
      });
      live = `${quotePg(world.tenant("RK").schema)}.exam_alt_score`;
      backup = await world.altScores("RK");
      const result = await world.runBackfill(["--json", "--no-verify"]);
      assert.equal(result.code, 0, result.stderr);
      runId = (JSON.parse(result.stdout) as RunReport).runId;
    });
    after(() => world?.destroy());

    it("the merge recorded the keys of the rows it inserted", async () => {
      const table = `rdw_backfill_keys_${runId}`;
      assert.ok(await world.tableExists("RK", table));
      const keys = await world.withPg(async (client) => {
        const { rows } = await client.query<{ key: string }>(
          `SELECT concat_ws('/', school_year, asmt_id, student_id, subject_score_id) AS key FROM ${quotePg(world.tenant("RK").schema)}.${quotePg(table)}`,
        );
        return rows.map((row) => row.key).sort();
      });
      const backfilled = (await world.altScores("RK")).filter((line) => migrateIdOf(line) === "-1");
      const fromBackup = new Set(backup);
      // Every back-filled row the run wrote (not one the backup already held identically) has its key recorded.
      for (const line of backfilled.filter((row) => !fromBackup.has(row)))
        assert.ok(keys.includes(keyOf(line)), keyOf(line));
      assert.equal(new Set(keys).size, keys.length, "each key once");
    });

    it("by default restores only the run's keys: what migrate-olap wrote since stays", async () => {
      const after = await world.altScores("RK");
      const backupKeys = new Set(backup.map(keyOf));
      const changed = after.filter((line) => migrateIdOf(line) === "-1" && !backup.includes(line));
      const replaced = changed.filter((line) => backupKeys.has(keyOf(line)));
      const added = changed.filter((line) => !backupKeys.has(keyOf(line)));
      const runKeys = new Set(changed.map(keyOf));
      const untouched = after.filter((line) => !runKeys.has(keyOf(line)) && migrateIdOf(line) !== "-1");
      assert.ok(replaced.length >= 2 && added.length >= 2 && untouched.length >= 1, "the data has each case");
      // migrate-olap since the run: rewrites a key the run replaced and one it added (delete, insert
      // with its own migrate_id), deletes one, adds a second row at one, rewrites a key the run did
      // not touch, and writes a key nobody had.
      await world.withPg(async (client) => {
        let nextId = 900_000_000;
        const copyOf = (id: string, schoolYear = "school_year") =>
          client.query(
            `INSERT INTO ${live} SELECT ${nextId++}, exam_id, subject_score_id, student_id, asmt_id, ${schoolYear}, ` +
              `scale_score + 1, performance_level, completed_at, ${MIGRATE_OLAP}, now(), update_import_id FROM ${live} WHERE id = $1`,
            [id],
          );
        const remove = (line: string) => client.query(`DELETE FROM ${live} WHERE id = $1`, [idOf(line)]);
        await copyOf(idOf(untouched[0]!), "2099");
        for (const line of [replaced[0]!, added[0]!, untouched[0]!]) {
          await copyOf(idOf(line));
          await remove(line);
          rewritten.add(keyOf(line));
        }
        await remove(replaced[1]!);
        rewritten.add(keyOf(replaced[1]!));
        await copyOf(idOf(added[1]!));
        rewritten.add(keyOf(added[1]!));
      });
      const current = await world.altScores("RK");
      const written = current.filter((line) => migrateIdOf(line) === String(MIGRATE_OLAP));
      assert.equal(written.length, 5);
      for (const line of written) rewritten.add(keyOf(line));
      // The backup, except the keys migrate-olap wrote since, which keep exactly what it wrote.
      const expected = [
        ...backup.filter((line) => !rewritten.has(keyOf(line))),
        ...current.filter((line) => rewritten.has(keyOf(line)) && migrateIdOf(line) !== "-1"),
      ].sort();

      const result = await rollback();
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stderr, /USING rdw_backfill_restore r/);
      assert.match(
        result.stdout,
        /RK: rolled back: \d+ of the run's \d+ keys still held its row: .* 3 keys migrate-olap rewrote or deleted since left as they are/,
      );
      assert.deepEqual(await world.altScores("RK"), expected);

      const again = await rollback();
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.deepEqual(await world.altScores("RK"), expected, "a second rollback changes nothing");
    });

    it("--whole-table makes the table the backup again, exactly", async () => {
      const result = await rollback("--whole-table");
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stderr, /are lost/);
      assert.deepEqual(await world.altScores("RK"), backup);
    });

    it("without the run's keys (an earlier version's run) it refuses and points to --whole-table", async () => {
      await world.withPg((client) =>
        client.query(
          `ALTER TABLE ${quotePg(world.tenant("RK").schema)}.${quotePg(`rdw_backfill_keys_${runId}`)} RENAME TO rdw_backfill_keys_aside`,
        ),
      );
      try {
        const result = await rollback();
        assert.equal(result.code, 1);
        assert.match(result.stdout, /RK: rollback FAILED: .*do not exist .*rollback --whole-table/);
        assert.deepEqual(await world.altScores("RK"), backup);
      } finally {
        await world.withPg((client) =>
          client.query(
            `ALTER TABLE ${quotePg(world.tenant("RK").schema)}.rdw_backfill_keys_aside RENAME TO ${quotePg(`rdw_backfill_keys_${runId}`)}`,
          ),
        );
      }
    });

    it("cleanup drops the run's keys with its backup", async () => {
      const result = await world.runCli(["cleanup", runId, "--yes", "--journal-dir", world.journalDir]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(await world.tableExists("RK", `rdw_backfill_keys_${runId}`), false);
      assert.equal(await world.tableExists("RK", `exam_alt_score_backup_${runId}`), false);
    });
  });
}
