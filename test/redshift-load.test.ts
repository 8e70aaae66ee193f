import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { resolveConfig } from "../src/config/settings.js";
import { buildPlan, runPlan, silentProgress } from "../src/index.js";
import type { PgStatement } from "../src/core/statement.js";
import { POSTGRES, quotePg } from "../src/dialects/postgres.js";
import type { LoadAction, Plan, StreamExtractAction } from "../src/plan/actions.js";
import { sampleDataset, World } from "./helpers/world.js";

const sql = (text: string): PgStatement => ({ protocol: "postgres", sql: text, params: [] });

/**
 * The Redshift load step differs from the PostgreSQL one in its statements only: COPY from S3,
 * pg_last_copy_count() and stl_load_errors. Here PostgreSQL statements stand in for those three,
 * so that the step, the executor and the report run for real.
 */
describe("the Redshift load step", () => {
  let world: World;
  let live: string;

  before(async () => {
    world = await World.create({
      staging: "file",
      tenants: [{ id: "RS", pathPrefix: "rs", dataset: sampleDataset(40, 61) }],
    });
    live = `${quotePg(world.tenant("RS").schema)}.exam_alt_score`;
  });
  after(() => world?.destroy());

  /** The stand-ins get the name of the plan's staging table. */
  async function planWithRedshiftLoad(
    standIn: (stage: string) => { copy: PgStatement; copiedRows: PgStatement; loadErrors: PgStatement[] },
  ): Promise<Plan> {
    const config = resolveConfig({ configDir: world.configDir, env: process.env });
    const plan = await buildPlan(config, { backup: false, partBytes: 1 << 20 });
    const stand_in = standIn(POSTGRES.tenant(world.tenant("RS").schema, plan.runId).stage);
    const tenant = plan.tenants[0]!;
    // Redshift reads the staged parts itself: no COPY is fed alongside the extract.
    delete (tenant.actions.find((action) => action.step === "extract") as StreamExtractAction).loadAlongside;
    const load = tenant.actions.find((action) => action.step === "load") as LoadAction;
    load.statements = { copiesFrom: "s3", prepare: load.statements.prepare, ...stand_in };
    return plan;
  }

  it("reports the rows COPY rejected, with line, column and reason, and leaves the live table untouched", async () => {
    const before = await world.altScores("RS");
    const plan = await planWithRedshiftLoad((stage) => ({
      copy: sql(`INSERT INTO ${stage} (id) VALUES (1)`), // fails on NOT NULL, as COPY with MAXERROR 0 would
      copiedRows: sql("SELECT 0 AS n"),
      loadErrors: [
        sql(
          "SELECT 7 AS line_number, 'scale_score' AS colname, 'Missing data for not-null field' AS err_reason, '\\N' AS raw_field_value",
        ),
      ],
    }));
    const report = await runPlan(plan, { progress: silentProgress, failFast: false });
    const tenant = report.tenants[0]!;
    assert.equal(tenant.status, "failed");
    assert.match(
      tenant.error!,
      /COPY rejected the staged rows, nothing loaded: line 7, column scale_score: Missing data/,
    );
    assert.deepEqual(tenant.loadErrors, [
      { line: 7, column: "scale_score", reason: "Missing data for not-null field", value: "\\N" },
    ]);
    assert.deepEqual(await world.altScores("RS"), before);
  });

  it("checks the count COPY reports against the rows staged before merging", async () => {
    const before = await world.altScores("RS");
    const plan = await planWithRedshiftLoad((stage) => ({
      copy: sql(`INSERT INTO ${stage} SELECT * FROM ${live} LIMIT 3`),
      copiedRows: sql("SELECT 3 AS n"),
      loadErrors: [sql("SELECT 1 WHERE false")],
    }));
    const report = await runPlan(plan, { progress: silentProgress, failFast: false });
    assert.match(report.tenants[0]!.error!, /count check failed before merge: \d+ rows staged, COPY read 3/);
    assert.deepEqual(await world.altScores("RS"), before);
  });
});
