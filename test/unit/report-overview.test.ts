import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Plan } from "../../src/plan/actions.js";
import { renderPlan } from "../../src/plan/render.js";
import { parallelism } from "../../src/plan/parallelism.js";
import { sessionSetup } from "../../src/plan/tenant-actions.js";
import { formatCount, formatCountsIn, formatDuration } from "../../src/report/format.js";
import { altScoreLabel } from "../../src/report/labels.js";
import { overviewOrder } from "../../src/report/outcome.js";
import { emptyTenantReport, tenantReport, type TenantReport } from "../../src/report/summary.js";
import { createJournal } from "../../src/run/execute.js";
import { RunJournal } from "../../src/run/journal.js";
import { facts } from "./sample-plan.js";

describe("the report's numbers and names", () => {
  it("writes counts with thousands separators, in one helper", () => {
    assert.equal(formatCount(1234567), "1,234,567");
    assert.equal(formatCount(999), "999");
    assert.equal(formatCount(0), "0");
  });

  it("separates the counts in verify's sentences, and nothing that is not a whole count", () => {
    assert.equal(
      formatCountsIn("12 groups, 20294 rows expected; 1000 cells"),
      "12 groups, 20,294 rows expected; 1,000 cells",
    );
    assert.equal(
      formatCountsIn("already 1,234 and 3.14159 and id12345"),
      "already 1,234 and 3.14159 and id12345",
    );
  });

  it("writes durations for people", () => {
    assert.equal(formatDuration(420), "0.4 s");
    assert.equal(formatDuration(59_940), "59.9 s");
    assert.equal(formatDuration(245_000), "4 min 05 s");
    assert.equal(formatDuration(7_633_000), "2 h 07 min");
  });

  it("names an alt score by subject and code, and by its id when the journal has no name", () => {
    const names = [
      { id: 19, code: "Reading", subjectCode: "ELA", asmtTypeCode: "sum" },
      { id: 20, code: "ALT1" },
    ];
    assert.equal(altScoreLabel(19, names), "ELA Reading (sum, 19)");
    assert.equal(altScoreLabel(20, names), "ALT1 (20)");
    assert.equal(altScoreLabel(21, names), "alt score 21");
    assert.equal(altScoreLabel(19, undefined), "alt score 19");
  });

  it("puts failed tenants first, then warned ones, then the rest, each in run order", () => {
    const succeeded = (id: string, change: Partial<TenantReport> = {}): TenantReport => ({
      ...emptyTenantReport(id, "succeeded"),
      ...change,
    });
    const order = overviewOrder([
      succeeded("A"),
      emptyTenantReport("B", "skipped", "an earlier tenant failed (--fail-fast)"),
      succeeded("C", { warnings: ["C: ANALYZE failed"] }),
      emptyTenantReport("D", "failed", "preflight: x"),
      succeeded("E", { retries: [{ at: "t", error: "ECONNRESET" }] }),
      emptyTenantReport("F", "failed", "y"),
      succeeded("G"),
    ]).map((tenant) => tenant.tenant);
    assert.deepEqual(order, ["D", "F", "C", "E", "A", "B", "G"]);
  });
});

describe("alt score names from discovery to the report", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rdw-backfill-unit-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("the plan shows them, the journal keeps them, the report reads them from there", async () => {
    const stagingUri = "s3://b/pa/MigrateAdHoc/exam_alt_score/20261125_030000_abcd/";
    const tenantFacts = facts("PA", "warehouse_pa", "reporting_pa", stagingUri, [19, 20]);
    const plan: Plan = {
      runId: "20261125_030000_abcd",
      createdAt: "2026-11-25T03:00:00.000Z",
      since: "2019-11-01 00:00:00",
      uriRoot: `file://${dir}/root`,
      backup: true,
      parallelism: parallelism([tenantFacts]),
      tenants: [{ ...tenantFacts, sessions: sessionSetup(tenantFacts, { oneProcess: false }), actions: [] }],
      failed: [],
    };
    assert.match(renderPlan(plan, { sql: false }), /alt score codes: 19 ELA ALT19 sum, 20 ELA ALT20 sum/);
    const command = {
      configDir: "/c",
      tenants: ["PA"],
      overrides: [],
      since: plan.since,
      backup: true,
      extract: "auto",
      load: "auto",
      partBytes: 1,
    };
    await createJournal(plan, dir, command);
    const entry = (await RunJournal.load(dir, plan.runId)).tenant("PA");
    assert.deepEqual(entry.altScores, tenantFacts.altScoreNames);
    const report = tenantReport("PA", entry);
    assert.equal(altScoreLabel(20, report.altScores), "ELA ALT20 (sum, 20)");

    const older = { ...entry };
    delete older.altScores;
    assert.equal(tenantReport("PA", older).altScores, undefined, "a journal without names still reports");
  });
});
