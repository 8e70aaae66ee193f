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
 * `rollback` after migrate-olap ran again: by default only the keys that hold back-filled rows
 * other than the backup's are restored from it, and what migrate-olap wrote since stays;
 * `--whole-table` gives the backup exactly. On PostgreSQL and on the Redshift stand-ins, through
 * the command line.
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

    it("the run leaves nothing for rollback but its backup", async () => {
      assert.ok(await world.tableExists("RK", `exam_alt_score_backup_${runId}`));
      const tables = await world.withPg(async (client) => {
        const { rows } = await client.query<{ name: string }>(
          "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'rdw_backfill%'",
          [world.tenant("RK").schema],
        );
        return rows.map((row) => row.name).filter((name) => name !== "rdw_backfill_lock");
      });
      assert.deepEqual(tables, []);
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

      // The run's keys that still hold its back-filled row, whatever else migrate-olap added there.
      const stillBackfilled = new Set(
        current.filter((line) => migrateIdOf(line) === "-1" && runKeys.has(keyOf(line))).map(keyOf),
      );
      assert.equal(
        stillBackfilled.size,
        runKeys.size - 3,
        "migrate-olap rewrote two of the run's keys and deleted one",
      );

      const result = await rollback();
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stderr, /USING rdw_backfill_restore r/);
      assert.match(
        result.stdout,
        new RegExp(
          `RK: rolled back: ${stillBackfilled.size} keys held back-filled rows other than the backup's`,
        ),
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

    it("a run that wrote the rows the table held: rollback puts back only a row it held twice", async () => {
      const first = await world.runBackfill(["--json", "--no-verify"]);
      assert.equal(first.code, 0, first.stderr);
      // A back-filled row twice, as after the runbook's INSERT ran twice.
      const twice = (await world.altScores("RK")).find((line) => migrateIdOf(line) === "-1")!;
      await world.withPg((client) =>
        client.query(`INSERT INTO ${live} SELECT * FROM ${live} WHERE id = $1`, [idOf(twice)]),
      );
      const before = await world.altScores("RK");
      const second = await world.runBackfill(["--json", "--no-verify"]);
      assert.equal(second.code, 0, second.stderr);
      const once = before.filter((line, index) => line !== twice || before.indexOf(line) !== index);
      assert.deepEqual(await world.altScores("RK"), once, "the second run wrote the same rows, each once");
      const secondRun = (JSON.parse(second.stdout) as RunReport).runId;
      // migrate-olap deletes a back-filled row the backup holds too: it stays deleted.
      const deleted = once.find((line) => migrateIdOf(line) === "-1" && keyOf(line) !== keyOf(twice))!;
      await world.withPg((client) => client.query(`DELETE FROM ${live} WHERE id = $1`, [idOf(deleted)]));
      const expected = before.filter((line) => line !== deleted);
      const result = await world.runCli(["rollback", secondRun, "--yes", "--journal-dir", world.journalDir]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(
        result.stdout,
        /RK: rolled back: 1 keys held back-filled rows other than the backup's: 1 back-filled rows removed, 2 backup rows put back/,
      );
      assert.deepEqual(await world.altScores("RK"), expected);
      const again = await world.runCli(["rollback", secondRun, "--yes", "--journal-dir", world.journalDir]);
      assert.match(again.stdout, /RK: rolled back: no key holds back-filled rows other than the backup's/);
      assert.deepEqual(await world.altScores("RK"), expected);
    });

    it("cleanup drops the backup, and the keys table an earlier version recorded", async () => {
      const keysTable = `${quotePg(world.tenant("RK").schema)}.${quotePg(`rdw_backfill_keys_${runId}`)}`;
      await world.withPg((client) => client.query(`CREATE TABLE ${keysTable} (school_year smallint)`));
      const result = await world.runCli(["cleanup", runId, "--yes", "--journal-dir", world.journalDir]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(await world.tableExists("RK", `rdw_backfill_keys_${runId}`), false);
      assert.equal(await world.tableExists("RK", `exam_alt_score_backup_${runId}`), false);
    });
  });
}
