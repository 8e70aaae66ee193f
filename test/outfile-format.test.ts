import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type mysql from "mysql2/promise";
import { WarehouseConnection } from "../src/adapters/source/mysql.js";
import { localServers, openMysql } from "../src/demo/local-servers.js";
import { formatOutfileLine } from "../src/format/outfile-csv.js";
import { quoteMysql } from "../src/plan/identifiers.js";

const CLAUSE = `FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\\n'`;

describe("the streaming writer writes MySQL's INTO OUTFILE bytes", () => {
  const database = `rdwbf_${randomBytes(3).toString("hex")}_format`;
  const outfile = `/tmp/${database}.csv`;
  let admin: mysql.Connection;

  before(async () => {
    admin = await openMysql(localServers().mysql);
    await admin.query(`CREATE DATABASE ${quoteMysql(database)}`);
    await admin.query(`CREATE TABLE ${quoteMysql(database)}.sample (
      id BIGINT PRIMARY KEY, score FLOAT NULL, level TINYINT NULL, label VARCHAR(40) NULL,
      at TIMESTAMP(6) NULL, done_at TIMESTAMP(0) NULL)`);
    await admin.query("SET time_zone = '+00:00'");
    await admin.query(`INSERT INTO ${quoteMysql(database)}.sample VALUES
      (1, 2119.875, 3, 'plain', '2019-06-03 07:17:28.000001', '2019-06-02 07:17:28'),
      (2, NULL, NULL, NULL, NULL, NULL),
      (3, -0.5, 1, 'say "hi", then\\nleave \\\\ now', '1970-01-01 00:00:01.000000', '2038-01-19 03:14:07'),
      (4, 1000000, 4, 'tab\\there, NUL \\0 end', '2020-03-08 07:30:00.123456', '2020-03-08 02:30:00'),
      (9007199254740993, 3e38, 0, '', '2019-11-01 00:00:00.000000', '2019-11-01 00:00:00')`);
  });

  after(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteMysql(database)}`);
    await admin.end();
    await rm(outfile, { force: true });
  });

  it("for numbers, NULLs, quotes, commas, newlines, backslashes, NUL and timestamps", async () => {
    const select = `SELECT id, score, level, label, at, done_at FROM ${quoteMysql(database)}.sample ORDER BY id`;
    await admin.query(`${select} INTO OUTFILE '${outfile}' ${CLAUSE}`);
    const serverBytes = await readFile(outfile);

    const { mysql: login } = localServers();
    const warehouse = await WarehouseConnection.open({ ...login, database, origin: "test" }, "test");
    let streamed = "";
    try {
      for await (const row of warehouse.stream({ sql: select, params: [] })) {
        streamed += formatOutfileLine(row, [false, false, false, true, true, true]);
      }
    } finally {
      await warehouse.close();
    }
    assert.ok(serverBytes.includes('"say \\"hi\\", then\\\nleave \\\\ now"'), "the sample exercises escapes");
    assert.equal(Buffer.from(streamed, "utf8").toString("hex"), serverBytes.toString("hex"));
  });
});
