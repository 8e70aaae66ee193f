import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type mysql from "mysql2/promise";
import { MysqlSession } from "../src/io/db/mysql-session.js";
import { localServers, openMysql } from "../demo/local-servers.js";
import { warehouseDdl } from "../demo/schema.js";
import { countExamsInWindow } from "../src/plan/discover.js";
import { MYSQL, quoteMysql } from "../src/dialects/mysql.js";

const EXAMS = 20_000;

describe("the plan's estimate of the exams in the window", () => {
  const database = `rdwbf_${randomBytes(3).toString("hex")}_estimate`;
  let admin: mysql.Connection;
  let warehouse: MysqlSession;

  before(async () => {
    admin = await openMysql(localServers().mysql);
    await admin.query("SET time_zone = '+00:00'");
    for (const sql of warehouseDdl(database)) await admin.query(sql);
    // Ids follow arrival; every tenth exam was re-scored lately, as reprocessing does.
    const rows = Array.from({ length: EXAMS }, (_, index) => {
      const id = 1000 + index;
      const day = index % 10 === 0 ? 1400 : Math.floor((index * 1400) / EXAMS);
      const updated = new Date(Date.UTC(2018, 8, 1) + day * 86_400_000).toISOString().slice(0, 19);
      return [id, 3, 2020, 20203, 100_000 + index, 10, 2500, 2, updated, 7000, 0, updated];
    });
    await admin.query(
      `INSERT INTO ${quoteMysql(database)}.exam (id, type_id, school_year, asmt_id, student_id, school_id,
         scale_score, performance_level, completed_at, update_import_id, deleted, updated) VALUES ?`,
      [rows],
    );
    warehouse = await MysqlSession.open(
      { ...localServers().mysql, database, origin: "test" },
      "test",
      MYSQL.session({ readOnly: true }),
    );
  });
  after(async () => {
    await warehouse?.close();
    await admin.query(`DROP DATABASE IF EXISTS ${quoteMysql(database)}`);
    await admin.end();
  });

  for (const since of ["2019-11-01 00:00:00", "2021-06-01 00:00:00"]) {
    it(`from a 1% sample of the exam ids is within 5% of the count (since ${since})`, async () => {
      const span = { lowest: 1000, highest: 1000 + EXAMS - 1, rowsApprox: EXAMS };
      const exact = await countExamsInWindow(warehouse, database, since, span, Infinity);
      const sampled = await countExamsInWindow(warehouse, database, since, span, 0);
      assert.ok(exact > 0 && exact < EXAMS, `the window holds part of the exams (${exact})`);
      assert.notEqual(sampled, exact, "the estimate came from the sample");
      assert.ok(Math.abs(sampled - exact) <= exact * 0.05, `estimate ${sampled}, count ${exact}`);
    });
  }
});
