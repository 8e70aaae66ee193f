import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { olapDdl } from "../demo/schema.js";
import { dropPgDatabase, localServers, openPg, recreatePgDatabase } from "../demo/local-servers.js";
import type { PgStatement } from "../src/core/statement.js";
import { POSTGRES } from "../src/dialects/postgres.js";

const EXAMS = 200_000;
const ALT_SCORE_IDS = [9, 10];
const SINCE = "2019-11-01 00:00:00";

/**
 * The merge's and verify's joins pair tables on keys whose columns depend on each other (an exam
 * id fixes its student, assessment and year). PostgreSQL multiplies the columns' selectivities and
 * estimates one row; without parallel workers it then plans a nested loop over the whole stage
 * for every staged row (40 minutes for 730,000 rows). The dialect's session settings must keep
 * every such statement a hash or merge join, here on a server that has no parallel workers.
 */
describe("the PostgreSQL dialect plans no nested loop for its bulk joins", () => {
  const servers = localServers();
  const database = `rdwbf_joins_${randomBytes(3).toString("hex")}`;
  const schema = "tenant_joins";
  const tenant = POSTGRES.tenant(schema, "20261203_000000_join");
  let client: pg.Client;

  before(async () => {
    await recreatePgDatabase(servers.pg, database);
    client = await openPg(servers.pg, database);
    for (const ddl of olapDdl(schema)) await client.query(ddl);
    await client.query(`SET search_path = ${schema}`);
    await client.query(
      `INSERT INTO exam SELECT g, 1, g, 1 + g % 4, 2020 + g % 3, 2500, 2, '2021-03-01 10:00:00+00', '2021-03-02 10:00:00+00', 1
         FROM generate_series(1, ${EXAMS}) g`,
    );
    await run(tenant.createStage());
    // Every exam's two alt scores, as the extract stages them, and a third of them already live.
    const rowsOfExams = (table: string, where: string) =>
      `INSERT INTO ${table} SELECT g * 10 + a, g, a, g, 1 + g % 4, 2020 + g % 3, 2500, 2, '2021-03-01 10:00:00+00', 1, '2021-03-02 10:00:00+00', 1
         FROM generate_series(1, ${EXAMS}) g, unnest(ARRAY[${ALT_SCORE_IDS.join(", ")}]) a ${where}`;
    await client.query(rowsOfExams(tenant.stage, ""));
    await client.query(rowsOfExams("exam_alt_score", "WHERE g % 3 = 0"));
    await client.query(`ANALYZE exam; ANALYZE exam_alt_score; ANALYZE ${tenant.stage}`);
    await client.query("SET max_parallel_workers_per_gather = 0");
  });
  after(async () => {
    await client?.end();
    await dropPgDatabase(servers.pg, database);
  });

  const run = (statement: PgStatement) => client.query(statement.sql, [...statement.params]);
  const plan = async (statement: PgStatement): Promise<string> => {
    const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${statement.sql}`, [
      ...statement.params,
    ]);
    return rows.map((row) => row["QUERY PLAN"]).join("\n");
  };
  /** The joins that read the kept rows, which the keep pass makes. */
  /** The kept rows' statistics, with the merge's sample for them (`analyzeRowsSettings`). */
  const analyzeRowsAsTheMergeDoes = async () => {
    await client.query("BEGIN");
    for (const statement of [...tenant.analyzeRowsSettings(), tenant.analyzeRows()]) await run(statement);
    await client.query("COMMIT");
  };
  const joinsOfKeptRows = (): [string, PgStatement][] => [
    ["the census of rows not kept", tenant.rejections(5).marked],
    ["the census of rows not kept, twins included", tenant.rejections(5).withTwins],
    ["the replace's DELETE", tenant.deleteReplaced()],
    ["verify's pass over the live table", tenant.verifyCells(ALT_SCORE_IDS, SINCE)],
    ["verify's orphans", tenant.orphans(5)],
  ];

  it("without the dialect's settings, PostgreSQL plans a nested loop for a bulk join (the hazard)", async () => {
    await client.query("RESET enable_nestloop");
    const looped: string[] = [];
    if (/Nested Loop/.test(await plan(tenant.selectRows()[0]!))) looped.push("the keep pass");
    for (const statement of tenant.selectRows()) await run(statement);
    await analyzeRowsAsTheMergeDoes();
    for (const [name, statement] of joinsOfKeptRows()) {
      if (/Nested Loop/.test(await plan(statement))) looped.push(name);
    }
    await client.query(`DROP TABLE ${tenant.rows}`);
    assert.notDeepEqual(looped, [], "no join planned as a nested loop");
  });

  it("with the dialect's session settings, none of the bulk joins is a nested loop", async () => {
    for (const statement of POSTGRES.session({ readOnly: false })) await run(statement);
    assert.doesNotMatch(
      await plan(tenant.selectRows()[0]!),
      /Nested Loop/,
      "the keep pass plans a nested loop",
    );
    assert.doesNotMatch(
      await plan(tenant.selectRowsNoTwins()[0]!),
      /Nested Loop/,
      "the keep pass without twins plans a nested loop",
    );
    for (const statement of tenant.selectRows()) await run(statement);
    await analyzeRowsAsTheMergeDoes();
    for (const [name, statement] of joinsOfKeptRows()) {
      assert.doesNotMatch(await plan(statement), /Nested Loop/, `${name} plans a nested loop`);
    }
  });
});
