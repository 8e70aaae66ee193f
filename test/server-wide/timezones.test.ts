import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Dataset, Exam, ExamScore } from "../../demo/dataset.js";
import { localServers, openMysql } from "../../demo/local-servers.js";
import { asLines, expectedAltScores } from "../helpers/oracle.js";
import { sampleDataset, World } from "../helpers/world.js";

const SINCE = "2019-11-01 00:00:00";

/**
 * Exams at the edges where a zone mistake shows: updated exactly at the start (in), one
 * microsecond before it (out), and around a US daylight-saving change.
 */
function withBoundaryExams(data: Dataset): Dataset {
  const exam = (id: number, completedAt: string, updated: string): Exam => ({
    id,
    typeId: 3,
    schoolYear: 2020,
    asmtId: 20203,
    studentId: id + 1_000_000,
    schoolId: 1,
    scaleScore: 2500,
    performanceLevel: 3,
    completedAt,
    updateImportId: 1,
    deleted: false,
    updated,
  });
  const exams = [
    exam(900_001, "2019-10-31 23:59:59", "2019-11-01 00:00:00.000000"),
    exam(900_002, "2019-10-31 20:00:00", "2019-10-31 23:59:59.999999"),
    exam(900_003, "2020-03-08 02:30:00", "2020-03-08 07:30:00.123456"),
  ];
  const scores: ExamScore[] = exams.map((e, i) => ({
    id: 990_001 + i,
    examId: e.id,
    subjectScoreId: 19,
    scaleScore: 2450,
    performanceLevel: 2,
  }));
  return {
    ...data,
    exams: [...data.exams, ...exams],
    examScores: [...data.examScores, ...scores],
    olapExamIds: [...data.olapExamIds, ...exams.map((e) => e.id)],
  };
}

// This file changes MariaDB's global time_zone, which every new session takes: `npm test` runs it
// after the other test files, which run two at a time, and with none beside it.
describe("time zones (runbook defect 6)", () => {
  let world: World;
  let previousZone: string;

  before(async () => {
    const mysql = await openMysql(localServers().mysql);
    try {
      const [rows] = await mysql.query("SELECT @@GLOBAL.time_zone AS zone");
      previousZone = (rows as { zone: string }[])[0]!.zone;
      // New warehouse sessions now start in +05:30, like a server configured for local time.
      await mysql.query("SET GLOBAL time_zone = '+05:30'");
    } finally {
      await mysql.end();
    }
    world = await World.create({
      staging: "file",
      olapTimeZone: "Asia/Tokyo",
      tenants: [
        {
          id: "TZ",
          pathPrefix: "tz",
          dataset: withBoundaryExams(sampleDataset(60, 31)),
        },
      ],
    });
  });

  after(async () => {
    const mysql = await openMysql(localServers().mysql);
    try {
      await mysql.query("SET GLOBAL time_zone = ?", [previousZone]);
    } finally {
      await mysql.end();
    }
    await world?.destroy();
  });

  it("keeps every timestamp exact with the warehouse, the process and PostgreSQL in other zones", async () => {
    const result = await world.runBackfill([], { TZ: "America/New_York" });
    assert.equal(result.code, 0, result.stderr);
    const table = await world.altScores("TZ");
    assert.deepEqual(table, asLines(expectedAltScores(world.tenant("TZ").dataset, SINCE)));
    const ids = table.map((line) => line.split("|")[1]);
    assert.ok(ids.includes("900001"), "an exam updated exactly at the start is in the window");
    assert.ok(!ids.includes("900002"), "an exam updated a microsecond before the start is not");
    assert.ok(
      table.includes(
        "990003|900003|19|1900003|20203|2020|2450|2|2020-03-08 02:30:00.000000|-1|2020-03-08 07:30:00.123456|1",
      ),
    );
  });
});
