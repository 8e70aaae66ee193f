import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { tenantReport } from "../../src/report/summary.js";
import { ConfigError } from "../../src/core/errors.js";
import { parseJournal } from "../../src/run/journal-shape.js";
import { RunJournal, type TenantJournal } from "../../src/run/journal.js";

const EXTRACT = {
  rowsRead: 120,
  rowsStaged: 110,
  parts: 1,
  manifestName: "exam_alt_score.manifest",
  sourceRejections: [{ reason: "null_scale_score" as const, count: 10, exampleIds: ["7"] }],
};
const MERGE = {
  liveBefore: 50,
  replaced: 40,
  loaded: 100,
  kept: 10,
  liveAfter: 110,
  liveSharingKey: 100,
  liveEqual: 100,
  targetRejections: [{ reason: "superseded_exam" as const, count: 10, exampleIds: ["9"] }],
};

describe("journals and the report derived from them", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rdw-backfill-unit-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("a journal written before step results existed resumes past its extract and merge", async () => {
    const runId = "20261101_000000_abcd";
    await mkdir(join(dir, runId));
    // The 0.1.0 form: results by step name, on the tenant entry itself.
    const earlier = {
      runId,
      createdAt: "2026-11-01T00:00:00.000Z",
      updatedAt: "2026-11-01T00:10:00.000Z",
      status: "failed",
      host: "h",
      pid: 1,
      command: { configDir: "/c", tenants: ["OT"], overrides: [], since: "2019-11-01", backup: true },
      stagingCopy: `file:///tmp/none/MigrateAdHoc/rdw-backfill/${runId}/`,
      tenants: {
        OT: {
          state: "merged",
          stagingUri: `file:///tmp/none/ot/MigrateAdHoc/exam_alt_score/${runId}/`,
          olapSchema: "reporting_ot",
          backupTable: "exam_alt_score_backup_x",
          extract: EXTRACT,
          load: { rowsCopied: 110, parts: 1 },
          merge: MERGE,
          attempts: 1,
          retries: [],
        },
      },
    };
    await writeFile(join(dir, runId, "journal.json"), JSON.stringify(earlier));
    const entry = (await RunJournal.load(dir, runId)).tenant("OT");
    assert.deepEqual(entry.results.extract, EXTRACT);
    assert.deepEqual(entry.results.merge, { ...MERGE, rowsCopied: 110 });
    assert.deepEqual(entry.results.backup, { table: "exam_alt_score_backup_x" });
    assert.deepEqual(entry.steps, []);
    assert.equal("extract" in entry, false, "the old fields are moved, not kept twice");
  });

  it("refuses a journal that does not parse or has the wrong shape, naming the file and the field", () => {
    const runId = "20261101_000000_abcd";
    const folder = `s3://b/ot/MigrateAdHoc/exam_alt_score/${runId}/`;
    const valid = () => ({
      runId,
      status: "failed",
      command: { configDir: "/c", tenants: ["OT"], overrides: [], since: "2019-11-01", backup: true },
      stagingCopy: `s3://b/MigrateAdHoc/rdw-backfill/${runId}/`,
      migrate: { controller: { kind: "custom", quiesce: "q", restore: "r" }, replicas: null },
      tenants: { OT: { state: "merged", stagingUri: folder, olapSchema: "reporting_ot", results: {} } },
    });
    assert.ok(parseJournal(JSON.stringify(valid()), "j.json", runId));
    type Journal = ReturnType<typeof valid>;
    const tenant = (change: object) => (journal: Journal) => ({
      ...journal,
      tenants: { OT: { ...journal.tenants.OT, ...change } },
    });
    const broken: [(journal: Journal) => unknown, RegExp][] = [
      [(journal) => JSON.stringify(journal).slice(0, -1), /^j\.json: invalid journal \(not JSON: /],
      [(journal) => [journal], /^j\.json: invalid journal: not a JSON object$/],
      [
        (journal) => ({ ...journal, runId: "20261101_000000_ffff" }),
        /^j\.json: invalid journal: runId must be the run id of its folder/,
      ],
      [(journal) => ({ ...journal, status: "done" }), /: status must be running, succeeded/],
      [
        (journal) => ({ ...journal, command: { ...journal.command, tenants: "OT" } }),
        /: command\.tenants must be a list/,
      ],
      [
        (journal) => ({ ...journal, migrate: { ...journal.migrate, replicas: -1 } }),
        /: migrate\.replicas must be a count or null$/,
      ],
      [
        (journal) => ({ ...journal, migrate: { controller: { kind: "custom", quiesce: 1 }, replicas: 1 } }),
        /: migrate\.controller\.quiesce must be a command$/,
      ],
      [
        (journal) => ({ ...journal, tenants: { "OT;x": journal.tenants.OT } }),
        /: tenant id "OT;x" is not plain$/,
      ],
      [tenant({ olapSchema: "a b" }), /: tenants\.OT\.olapSchema must be a plain identifier$/],
      [tenant({ backupTable: "x;y" }), /: tenants\.OT\.backupTable must be a plain identifier$/],
      [tenant({ stagingUri: "s3://b/" }), /: tenants\.OT\.stagingUri must be a staging folder of this run/],
      [
        tenant({ stagingUri: `${folder}../../` }),
        /: tenants\.OT\.stagingUri must be a staging folder of this run/,
      ],
      [tenant({ state: "done" }), /: tenants\.OT\.state must be pending, backed-up/],
    ];
    for (const [change, message] of broken) {
      const changed = change(valid());
      const text = typeof changed === "string" ? changed : JSON.stringify(changed);
      assert.throws(
        () => parseJournal(text, "j.json", runId),
        (error: Error) => error instanceof ConfigError && message.test(error.message),
        String(message),
      );
    }
  });

  const entry = (change: Partial<TenantJournal>): TenantJournal => ({
    state: "verified",
    stagingUri: "s3://b/ot/",
    olapSchema: "reporting_ot",
    results: { extract: EXTRACT, merge: { ...MERGE, rowsCopied: 110 } },
    attempts: 1,
    retries: [],
    steps: [],
    ...change,
  });

  it("the tenant's report counts what the journal recorded", () => {
    const report = tenantReport("OT", entry({}));
    assert.equal(report.status, "succeeded");
    assert.equal(report.error, undefined);
    assert.equal(report.extracted, EXTRACT.rowsRead);
    assert.equal(report.loaded, MERGE.loaded);
    assert.equal(report.finalCount, MERGE.liveAfter);
    assert.deepEqual(
      report.rejected.map((r) => r.reason),
      ["null_scale_score", "superseded_exam"],
    );
  });

  it("a tenant that has not reached the end has failed, with its last error", () => {
    const report = tenantReport("OT", entry({ state: "merged", error: "verify: completeness failed" }));
    assert.equal(report.status, "failed");
    assert.equal(report.error, "verify: completeness failed");
  });

  it("a tenant --fail-fast skipped is reported as skipped, with the reason", () => {
    const report = tenantReport(
      "OT",
      entry({ state: "pending", results: {}, skipped: "an earlier tenant failed (--fail-fast)" }),
    );
    assert.equal(report.status, "skipped");
    assert.match(report.error!, /--fail-fast/);
    assert.equal(report.extracted, 0);
  });
});
