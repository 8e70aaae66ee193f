import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseStopAfter } from "../../src/config/stop-after.js";
import { ConfigError } from "../../src/core/errors.js";
import type { Plan } from "../../src/plan/actions.js";
import { planSummary } from "../../src/plan/estimate.js";
import { parallelism } from "../../src/plan/parallelism.js";
import { sessionSetup, tenantActions } from "../../src/plan/tenant-actions.js";
import { facts, settings } from "./sample-plan.js";

describe("--stop-after", () => {
  const now = new Date(2026, 10, 25, 22, 0, 0); // 22:00 local time

  it("HH:MM is the next such time on this machine's clock: later today, or tomorrow", () => {
    const later = parseStopAfter("23:30", now);
    assert.deepEqual([later.getDate(), later.getHours(), later.getMinutes()], [25, 23, 30]);
    const tomorrow = parseStopAfter("05:30", now);
    assert.deepEqual([tomorrow.getDate(), tomorrow.getHours(), tomorrow.getMinutes()], [26, 5, 30]);
  });

  it("a date and time must carry its zone", () => {
    assert.equal(parseStopAfter("2026-11-26T05:30:00Z", now).toISOString(), "2026-11-26T05:30:00.000Z");
    assert.equal(parseStopAfter("2026-11-26 05:30+02:00", now).toISOString(), "2026-11-26T03:30:00.000Z");
    assert.throws(() => parseStopAfter("2026-11-26T05:30:00", now), ConfigError);
    assert.throws(() => parseStopAfter("24:00", now), ConfigError);
    assert.throws(
      () => parseStopAfter("2026-11-25T00:00:00Z", new Date("2026-11-25T01:00:00Z")),
      /has passed/,
    );
  });
});

describe("the plan's first screen", () => {
  const tenantPlan = (id: string, rows: number, problems: string[] = []) => {
    const tenantFacts = facts(id, `warehouse_${id}`, `reporting_${id}`, `s3://b/${id}/`, [19], true);
    tenantFacts.estimates = { ...tenantFacts.estimates, altScoreRowsApprox: rows, examsInWindow: rows / 2 };
    tenantFacts.problems = problems;
    return {
      ...tenantFacts,
      sessions: sessionSetup(tenantFacts, { oneProcess: false }),
      actions: tenantActions(tenantFacts, settings({})),
    };
  };
  const plan = (
    tenants: ReturnType<typeof tenantPlan>[],
    failed: Plan["failed"] = [],
    atOnce?: number,
  ): Plan =>
    ({
      runId: "r",
      since: "s",
      uriRoot: "s3://b",
      backup: true,
      parallelism: parallelism(tenants, atOnce),
      tenants,
      failed,
    }) as Plan;

  it("counts the ready tenants' rows and estimates the time at the rate given", () => {
    const lines = planSummary(plan([tenantPlan("a", 1_200_000), tenantPlan("b", 2_400_000)]), {
      rowsPerSecond: 10_000,
      source: "test",
    });
    assert.equal(lines[0], "Summary: 2 tenants: 2 ready, 0 with problems, 0 failed preflight");
    assert.match(lines[1]!, /~3,600,000 alt score rows from ~1,800,000 exams/);
    assert.match(lines[2]!, /~6 min at 10,000 rows\/s \(test\)/);
  });

  it("with more than one tenant at once, shows the start order under the parallelism", () => {
    const tenants = [tenantPlan("a", 1000), tenantPlan("b", 3000), tenantPlan("c", 2000)];
    const rate = { rowsPerSecond: 1000, source: "test" };
    const startOrder = (lines: string[]) => lines.filter((line) => line.startsWith("  start order:"));
    assert.deepEqual(startOrder(planSummary(plan(tenants, [], 2), rate)), [
      "  start order: b, c, a (the largest first, by the estimate of alt score rows)",
    ]);
    assert.deepEqual(startOrder(planSummary(plan(tenants), rate)), [], "one at a time: no order to show");
    const withProblem = [...tenants, tenantPlan("d", 10, ["missing privilege"])];
    assert.deepEqual(startOrder(planSummary(plan(withProblem, [], 2), rate)), [
      "  start order: d, b, c, a (those with problems first, then the largest first, by the estimate of alt score rows)",
    ]);
  });

  it("lists problems one per line, at most eight, and says how many more there are", () => {
    const tenants = Array.from({ length: 10 }, (_, k) => tenantPlan(`t${k}`, 1000, [`problem ${k}`]));
    const failed = [{ tenant: tenants[0]!.tenant, error: "unreachable" }];
    const lines = planSummary(plan(tenants, failed), { rowsPerSecond: 1000, source: "test" });
    assert.equal(lines[0], "Summary: 11 tenants: 0 ready, 10 with problems, 1 failed preflight");
    assert.equal(lines.filter((line) => /t\d: problem \d/.test(line)).length, 8);
    assert.ok(lines.some((line) => /… and 3 more, below/.test(line)));
  });
});
