import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type mysql from "mysql2/promise";
import { MysqlSession } from "../src/io/db/mysql-session.js";
import { localServers, openMysql } from "../demo/local-servers.js";
import { warehouseDdl } from "../demo/schema.js";
import { idRanges, LOADABLE, MYSQL, OUTFILE_FORMAT, quoteMysql } from "../src/dialects/mysql.js";
import type { ExtractDriver } from "../src/dialects/types.js";

const SINCE = "2019-11-01 00:00:00.000000";
const ALT_IDS = [19, 20];

describe("the streamed extract is what INTO OUTFILE writes", () => {
  const database = `rdwbf_${randomBytes(3).toString("hex")}_format`;
  const outfile = `/tmp/${database}.csv`;
  let admin: mysql.Connection;
  const scope = { database, altScoreIds: ALT_IDS, since: SINCE };

  before(async () => {
    admin = await openMysql(localServers().mysql);
    await admin.query("SET time_zone = '+00:00'");
    for (const sql of warehouseDdl(database)) await admin.query(sql);
    const db = quoteMysql(database);
    // Values that a formatter could get wrong: FLOAT rounding and exponents, microseconds,
    // ids beyond 2^53, the first second of the epoch and the last of 32-bit time.
    await admin.query(`INSERT INTO ${db}.exam (id, type_id, school_year, asmt_id, student_id, school_id,
        scale_score, performance_level, completed_at, update_import_id, deleted, updated) VALUES
      (1, 3, 2020, 20203, 100001, 10, 2500, 2, '2019-06-02 07:17:28', 7001, 0, '2019-12-03 07:17:28.000001'),
      (2, 3, 2020, 20204, 100001, 10, 2500, 2, '1970-01-01 00:00:01', 7002, 0, '2038-01-19 03:14:07.999999'),
      (3, 3, 2021, 20213, 100002, 11, 2500, 2, '2020-03-08 02:30:00', 9007199254740993, 0, '2020-03-08 07:30:00.123456'),
      (4, 3, 2021, 20214, 100002, 11, 2500, 2, '2020-03-08 02:30:00', 7004, 0, '2020-03-08 07:30:00')`);
    await admin.query(`INSERT INTO ${db}.exam_score (id, exam_id, subject_score_id, scale_score, performance_level) VALUES
      (10, 1, 19, 2119.875, 3), (11, 1, 20, -0.5, 1), (12, 2, 19, 1000000, 2), (13, 2, 20, 3e38, 3),
      (14, 3, 19, 1e-7, 1), (15, 3, 20, 123456789, 2), (9007199254740993, 4, 19, 99999.95, 3),
      (17, 4, 20, NULL, 2), (18, 3, 1, 2500, 2)`);
  });

  after(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteMysql(database)}`);
    await admin.end();
    await rm(outfile, { force: true });
  });

  async function streamed(driver: ExtractDriver): Promise<{ bytes: string; rejected: string[] }> {
    const { mysql: login } = localServers();
    const warehouse = await MysqlSession.open(
      { ...login, database, origin: "test" },
      "test",
      MYSQL.session({ readOnly: true }),
    );
    const lines: { id: string; line: string }[] = [];
    const rejected: string[] = [];
    // Two ranges of the driving table's ids, as the run reads them.
    const ranges = driver === "exam" ? idRanges(1, 4, 2) : idRanges(10, 2 ** 53, 2);
    try {
      for (const range of ranges) {
        for await (const rows of warehouse.stream(MYSQL.streamExtract(scope, driver, range))) {
          for (const [line, reason, id] of rows) {
            if (reason !== null) rejected.push(`${reason}:${id}`);
            else lines.push({ id: id!, line: line! + "\n" });
          }
        }
      }
    } finally {
      await warehouse.close();
    }
    lines.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    return { bytes: lines.map((entry) => entry.line).join(""), rejected };
  }

  for (const driver of ["exam", "exam_score"] as const) {
    it(`byte for byte, reading ${driver} first, with rows whose alt value is NULL counted and left out`, async () => {
      const from = MYSQL.selectionOf(scope);
      const runbook =
        "SELECT wes.id, wes.exam_id, wes.subject_score_id, we.student_id, we.asmt_id, we.school_year, wes.scale_score, " +
        "wes.performance_level, we.completed_at, -1, we.updated, we.update_import_id\n" +
        `${from.sql}\n${LOADABLE}\nORDER BY wes.id`;
      await rm(outfile, { force: true });
      await admin.query(`${runbook} INTO OUTFILE '${outfile}' ${OUTFILE_FORMAT}`, [...from.params]);
      const serverBytes = await readFile(outfile, "utf8");
      const result = await streamed(driver);
      assert.ok(serverBytes.includes("2119.88,3,"), "the sample exercises FLOAT rounding");
      assert.equal(serverBytes.split("\n").length, 8, "seven loadable rows");
      assert.equal(result.bytes, serverBytes);
      assert.deepEqual(result.rejected, ["null_scale_score:17"]);
    });
  }

  it("splits exam ids into open-ended ranges that cover every id once", () => {
    assert.deepEqual(idRanges(1000, 1999, 2), [
      { low: null, high: 1500 },
      { low: 1500, high: null },
    ]);
    assert.deepEqual(idRanges(5, 5, 3), [
      { low: null, high: 6 },
      { low: 6, high: 7 },
      { low: 7, high: null },
    ]);
    assert.deepEqual(idRanges(null, null, 4), [{ low: null, high: null }]);
  });
});
