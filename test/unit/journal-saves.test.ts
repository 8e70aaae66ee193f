import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { type JournalData, RunJournal } from "../../src/run/journal.js";

const RUN_ID = "20261124_031500_ab12";
const TENANTS = 8;
const UPDATES = 200;

describe("the journal with tenants run at once", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rdw-backfill-unit-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("many concurrent updates: each resolves once a save holds it, and the files hold them all", async () => {
    const journalDir = join(dir, "runs");
    const uriRoot = pathToFileURL(join(dir, "archive")).href;
    const ids = Array.from({ length: TENANTS }, (_, k) => `T${k}`);
    const journal = await RunJournal.create(
      journalDir,
      RUN_ID,
      uriRoot,
      {
        configDir: "/c",
        tenants: ids,
        overrides: [],
        since: "s",
        backup: true,
        extract: "auto",
        load: "auto",
        partBytes: 1,
      },
      Object.fromEntries(
        ids.map((id) => [
          id,
          {
            stagingUri: `${uriRoot}/${id}/MigrateAdHoc/exam_alt_score/${RUN_ID}/`,
            olapSchema: `reporting_${id}`,
          },
        ]),
      ),
    );
    const file = join(journalDir, RUN_ID, "journal.json");
    const onDisk = async () => JSON.parse(await readFile(file, "utf8")) as JournalData;
    const warningOf = (k: number) => `update ${k}`;

    await Promise.all(
      Array.from({ length: UPDATES }, async (_, k) => {
        // Half the callers change the data before they ask, as a tenant does between steps.
        if (k % 2 === 0) await new Promise((resolve) => setImmediate(resolve));
        const entry = journal.tenant(ids[k % TENANTS]!);
        await journal.update(() => {
          (entry.warnings ??= []).push(warningOf(k));
          entry.attempts += 1;
        });
        const saved = (await onDisk()).tenants[ids[k % TENANTS]!]!;
        assert.ok(saved.warnings?.includes(warningOf(k)), `update ${k} resolved before a save held it`);
      }),
    );

    const final = await onDisk();
    const warnings = Object.values(final.tenants).flatMap((tenant) => tenant.warnings ?? []);
    assert.equal(warnings.length, UPDATES);
    assert.deepEqual(new Set(warnings), new Set(Array.from({ length: UPDATES }, (_, k) => warningOf(k))));
    assert.equal(
      Object.values(final.tenants).reduce((sum, tenant) => sum + tenant.attempts, 0),
      UPDATES,
    );
    // The copy next to the staged files parses and is the same; no temporary file is left.
    const copy = JSON.parse(
      await readFile(join(dir, "archive", "MigrateAdHoc", "rdw-backfill", RUN_ID, "journal.json"), "utf8"),
    ) as JournalData;
    assert.deepEqual(copy, final);
    assert.deepEqual(await readdir(join(journalDir, RUN_ID)), ["journal.json"]);
    // And it loads as a journal.
    const loaded = await RunJournal.load(journalDir, RUN_ID);
    assert.equal(loaded.tenant("T0").attempts, UPDATES / TENANTS);
  });
});
