import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RunTally } from "../../src/cli/run-tally.js";
import { extractShare } from "../../src/plan/estimate.js";
import { inStartOrder, parallelism, SERVER_SIDE_PARALLEL } from "../../src/plan/parallelism.js";
import { sessionSetup, tenantActions } from "../../src/plan/tenant-actions.js";
import type { StepName } from "../../src/plan/actions.js";
import { forEachAtMost } from "../../src/core/pool.js";
import { StepTurns } from "../../src/run/turns.js";
import { facts, settings } from "./sample-plan.js";

const serverSide = (id: string) => facts(id, `warehouse_${id}`, `reporting_${id}`, `s3://b/${id}/`, [19]);
const streaming = (id: string) =>
  facts(id, `warehouse_${id}`, `reporting_${id}`, `s3://b/${id}/`, [19], true);

describe("tenants at once", () => {
  it("by default: 4 when every ready tenant runs server-side, 1 when any streams through this process", () => {
    assert.equal(SERVER_SIDE_PARALLEL, 4);
    const allServer = parallelism([serverSide("CA"), serverSide("NV"), serverSide("WA")]);
    assert.equal(allServer.tenants, 4);
    assert.match(allServer.reason, /every tenant runs server-side/);

    const oneStreams = parallelism([serverSide("CA"), streaming("NV"), serverSide("WA")]);
    assert.equal(oneStreams.tenants, 1);
    assert.match(
      oneStreams.reason,
      /tenant NV streams through this process \(extract stream, load postgres\)/,
    );

    // Aurora writes to S3, but the load is COPY FROM STDIN through this process: it streams.
    const loadStreams = serverSide("OR");
    loadStreams.load = { mode: "postgres", reason: "test", dialect: "postgres", serverSide: false };
    assert.equal(parallelism([serverSide("CA"), loadStreams]).tenants, 1);
    // And the other way round: the extract streams, Redshift copies from S3.
    const extractStreams = serverSide("ID");
    extractStreams.extract = { mode: "stream", reason: "test", dialect: "mysql", serverSide: false };
    assert.equal(parallelism([extractStreams]).tenants, 1);
  });

  it("a tenant that will not run (a problem) does not decide; with none ready, one", () => {
    const blocked = streaming("NV");
    blocked.problems = ["missing privilege"];
    assert.equal(parallelism([serverSide("CA"), blocked]).tenants, 4);
    assert.deepEqual(parallelism([blocked]), {
      tenants: 1,
      reason: "no tenant is ready",
      oneAtATime: [],
      oneProcessPerSession: false,
      startOrder: ["NV"],
    });
  });

  it("--parallel wins over the default; with a tenant that streams, its extract and verify take turns, its merge does not", () => {
    assert.deepEqual(parallelism([serverSide("CA"), streaming("NV")], 3), {
      tenants: 3,
      reason:
        "--parallel 3; as tenant NV streams through this process, extract, load, verify run for one tenant at a time; " +
        "each OLAP session runs a statement in one process where its engine has a choice",
      oneAtATime: ["extract", "load", "verify"],
      oneProcessPerSession: true,
      startOrder: ["CA", "NV"],
    });
    assert.deepEqual(parallelism([serverSide("CA"), serverSide("WA")], 3), {
      tenants: 3,
      reason: "--parallel 3; each OLAP session runs a statement in one process where its engine has a choice",
      oneAtATime: [],
      oneProcessPerSession: true,
      startOrder: ["CA", "WA"],
    });
    assert.deepEqual(parallelism([streaming("NV")], 1).oneAtATime, [], "one tenant takes no turns");
    assert.equal(parallelism([serverSide("CA")], 1).tenants, 1);
  });

  it("sessions run each statement in one process exactly when more than one tenant can run at once", () => {
    const two = [streaming("NV"), streaming("WA")];
    const atOnce = (tenants: number) => parallelism(two, tenants).oneProcessPerSession;
    assert.equal(atOnce(1), false);
    assert.equal(atOnce(2), true);
    assert.equal(parallelism(two).oneProcessPerSession, false, "streaming: one tenant by default");
    const servers = [serverSide("CA"), serverSide("OR")];
    assert.equal(parallelism(servers).oneProcessPerSession, true, "server-side: four by default");
    // A single tenant ready has the cores to itself, whatever --parallel says.
    const single = parallelism([streaming("NV")], 3);
    assert.deepEqual(
      [single.oneProcessPerSession, single.oneAtATime, single.reason],
      [false, [], "--parallel 3"],
    );
    assert.equal(parallelism([serverSide("CA")]).oneProcessPerSession, false);
    const blocked = serverSide("OR");
    blocked.problems = ["missing privilege"];
    assert.equal(parallelism([serverSide("CA"), blocked], 4).oneProcessPerSession, false);

    const postgres = streaming("NV");
    const alone = sessionSetup(postgres, { oneProcess: false });
    const shared = sessionSetup(postgres, { oneProcess: true });
    const noWorkers = "SET max_parallel_workers_per_gather = 0";
    for (const kind of ["olap", "olapReader"] as const) {
      assert.ok(!alone[kind].some((statement) => statement.sql === noWorkers), kind);
      assert.deepEqual(
        shared[kind].map((statement) => statement.sql),
        [...alone[kind].map((statement) => statement.sql), noWorkers],
        kind,
      );
    }
    assert.deepEqual(shared.warehouse, alone.warehouse, "the warehouse's sessions do not change");
    // Redshift spreads a query over its slices whatever the session says: nothing to add.
    const redshift = serverSide("CA");
    assert.equal(redshift.load.dialect, "redshift");
    assert.deepEqual(
      sessionSetup(redshift, { oneProcess: true }),
      sessionSetup(redshift, { oneProcess: false }),
    );
  });

  it("the merge's second session and verify's key check set one process per statement only where their sessions do not", () => {
    const noWorkers = ["SET max_parallel_workers_per_gather = 0"];
    for (const oneProcessPerSession of [false, true]) {
      const actions = tenantActions(streaming("NV"), settings({ oneProcessPerSession }));
      const merge = actions.find((action) => action.step === "merge");
      const verify = actions.find((action) => action.step === "verify");
      assert.ok(merge?.step === "merge" && verify?.step === "verify");
      const expected = oneProcessPerSession ? [] : noWorkers;
      assert.deepEqual(
        merge.secondSession.map((statement) => statement.sql),
        expected,
        `merge, ${oneProcessPerSession}`,
      );
      assert.deepEqual(
        verify.olap.duplicateKeysSession.map((statement) => statement.sql),
        expected,
        `verify, ${oneProcessPerSession}`,
      );
    }
  });

  it("with more than one tenant at once, tenants with problems first, then the largest (ties in the configuration's order); one at a time, the configuration's order", () => {
    const sized = (id: string, rows: number, make = streaming) => {
      const tenant = make(id);
      tenant.estimates = { ...tenant.estimates, altScoreRowsApprox: rows };
      return tenant;
    };
    const tenants = [sized("CA", 10), sized("NV", 300), sized("WA", 20), sized("OR", 300), sized("ID", 5)];
    const largestFirst = ["NV", "OR", "WA", "CA", "ID"];
    assert.deepEqual(parallelism(tenants, 2).startOrder, largestFirst);
    assert.deepEqual(
      parallelism(tenants).startOrder,
      ["CA", "NV", "WA", "OR", "ID"],
      "streaming: one at a time",
    );
    assert.deepEqual(parallelism(tenants, 1).startOrder, ["CA", "NV", "WA", "OR", "ID"]);
    const servers = tenants.map((tenant) =>
      sized(tenant.tenant.id, tenant.estimates.altScoreRowsApprox, serverSide),
    );
    assert.deepEqual(parallelism(servers).startOrder, largestFirst, "server-side: four at once by default");
    // A tenant with problems fails at once: it goes first (with --fail-fast, before any work).
    const blocked = sized("MT", 1);
    blocked.problems = ["missing privilege"];
    assert.deepEqual(parallelism([...tenants, blocked], 2).startOrder, ["MT", ...largestFirst]);
    // The run starts them in that order, whatever order the plan lists them in.
    assert.deepEqual(
      inStartOrder(tenants, largestFirst).map((tenant) => tenant.tenant.id),
      largestFirst,
    );
    assert.deepEqual(
      inStartOrder(tenants, ["WA"]).map((tenant) => tenant.tenant.id),
      ["WA", "CA", "NV", "OR", "ID"],
      "tenants the order does not name keep their places, after it",
    );
  });

  it("step turns: a turn given back goes to the waiting tenant that comes first in the start order", async () => {
    const turns = new StepTurns(["extract"], ["BIG", "MID", "SMALL"]);
    const order: string[] = [];
    const holdFirst = await turns.take("extract", "SMALL", () => undefined); // free: no wait
    // They ask in the opposite order of their rank; the unnamed tenant comes after every named one.
    const asks = ["OTHER", "SMALL", "MID", "BIG"].map(async (tenant) => {
      const giveBack = await turns.take("extract", tenant, () => undefined);
      order.push(tenant);
      await new Promise((resolve) => setTimeout(resolve, 2));
      giveBack();
    });
    holdFirst();
    await Promise.all(asks);
    assert.deepEqual(order, ["BIG", "MID", "SMALL", "OTHER"]);
  });

  it("step turns: one holder per step, first come first served among equals; other steps do not wait", async () => {
    const turns = new StepTurns(["extract", "merge"]);
    const order: string[] = [];
    const waited: string[] = [];
    const hold = async (tenant: string, step: StepName, ms: number) => {
      const giveBack = await turns.take(step, tenant, () => waited.push(`${tenant} ${step}`));
      order.push(`${tenant} ${step} start`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      order.push(`${tenant} ${step} end`);
      giveBack();
      giveBack(); // twice is once
    };
    await Promise.all([
      hold("A", "extract", 30),
      hold("B", "extract", 5),
      hold("C", "extract", 5),
      hold("D", "merge", 10),
      hold("E", "backup", 10),
    ]);
    const extracts = order.filter((line) => line.includes("extract"));
    assert.deepEqual(extracts, [
      "A extract start",
      "A extract end",
      "B extract start",
      "B extract end",
      "C extract start",
      "C extract end",
    ]);
    assert.deepEqual(waited, ["B extract", "C extract"]);
    // The merge and a step without turns ran beside A's extract.
    assert.ok(order.indexOf("D merge start") < order.indexOf("A extract end"));
    assert.ok(order.indexOf("E backup start") < order.indexOf("A extract end"));
  });

  it("the pool runs at most n at once, in order, and after an error starts nothing new but awaits those running", async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const finished: number[] = [];
    const work = async (k: number) => {
      started.push(k);
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, k === 2 ? 5 : 20));
      running--;
      finished.push(k);
      if (k === 2) throw new Error("tenant 2");
    };
    await assert.rejects(forEachAtMost([0, 1, 2, 3, 4, 5], 3, work), /tenant 2/);
    assert.equal(most, 3);
    assert.deepEqual(started, [0, 1, 2], "nothing started after the error");
    assert.deepEqual(finished.sort(), [0, 1, 2], "those running were awaited");

    started.length = 0;
    await forEachAtMost([0, 1, 2, 3], 1, async (k) => void started.push(k));
    assert.deepEqual(started, [0, 1, 2, 3]);
  });

  it("the whole run's tally: rows of the estimates, advanced by the extract; failed and skipped tenants leave the total", () => {
    let now = 0;
    const tally = new RunTally(() => now);
    tally.planned([
      { tenant: "A", expectedRows: 1000, extractShare: 1 },
      { tenant: "B", expectedRows: 3000, extractShare: 1 },
      { tenant: "C", expectedRows: 500, extractShare: 1 },
      { tenant: "D", expectedRows: 500, extractShare: 1 },
    ]);
    assert.equal(tally.standing().etaMs, undefined, "no ETA before any row");
    tally.started("A");
    tally.started("B");
    now = 10_000;
    tally.extracted("A", 400);
    tally.extracted("B", 600);
    assert.deepEqual(tally.standing(), {
      tenants: 4,
      running: 2,
      done: 0,
      failed: 0,
      skipped: 0,
      rowsDone: 1000,
      rowsTotal: 5000,
      workDone: 1000,
      etaMs: 40_000,
    });
    tally.extracted("A", 900); // fewer than estimated: done counts the whole estimate
    tally.ended("A", "done");
    tally.ended("B", "failed");
    tally.ended("C", "skipped");
    const standing = tally.standing();
    assert.deepEqual([standing.done, standing.failed, standing.skipped, standing.running], [1, 1, 1, 0]);
    assert.deepEqual([standing.rowsDone, standing.rowsTotal], [1000, 1500]);
    assert.equal(tally.over, false);
    tally.ended("D", "skipped");
    assert.equal(tally.over, true);
  });

  it("the run's ETA weighs a running tenant's extracted rows by its extract's share of its time", () => {
    let now = 0;
    const tally = new RunTally(() => now);
    tally.planned([{ tenant: "A", expectedRows: 1000, extractShare: 0.4 }]);
    tally.started("A");
    now = 10_000;
    tally.extracted("A", 1000);
    const afterExtract = tally.standing();
    assert.equal(afterExtract.rowsDone, 1000, "all its rows are extracted");
    assert.equal(afterExtract.workDone, 400);
    assert.equal(afterExtract.etaMs, 15_000, "the merge and verify are still to come");
    now = 20_000; // the merge runs: no rows move, the ETA grows with the time
    assert.equal(tally.standing().etaMs, 30_000);
    tally.ended("A", "done");
    assert.deepEqual([tally.standing().workDone, tally.standing().etaMs], [1000, 0]);
  });

  it("the extract's share of a tenant's time follows its steps: smaller with verify, a load of its own counts", () => {
    const plan = (streams: boolean, overrides: Parameters<typeof settings>[0]) =>
      tenantActions(
        facts("CA", "warehouse_ca", "reporting_ca", "s3://b/CA/", [19], streams),
        settings(overrides),
      );
    const withVerify = extractShare(plan(true, {}));
    const withoutVerify = extractShare(plan(true, { verify: false }));
    const loadOfItsOwn = extractShare(plan(true, { verify: false, overlapLoad: false }));
    assert.ok(
      withVerify > 0 && withVerify < withoutVerify && withoutVerify < 1,
      `${withVerify} ${withoutVerify}`,
    );
    assert.ok(loadOfItsOwn < withoutVerify, "a load that reads the staged parts again takes time of its own");
    assert.ok(extractShare(plan(false, {})) < withoutVerify, "server-side: the load is Redshift's COPY");
  });
});
