import type { Connection } from "mysql2/promise";
import type pg from "pg";
import { quoteMysql, quotePg } from "../plan/identifiers.js";
import { type AltScoreRow, altScoreValues, type Dataset } from "./dataset.js";
import { olapDdl, warehouseDdl } from "./schema.js";

const BATCH = 1000;

function* batches<T>(rows: readonly T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += BATCH) yield rows.slice(i, i + BATCH);
}

/** Creates the warehouse database and fills it. Timestamps are written in a UTC session. */
export async function installWarehouse(mysql: Connection, database: string, data: Dataset): Promise<void> {
  await mysql.query("SET time_zone = '+00:00'");
  for (const sql of warehouseDdl(database)) await mysql.query(sql);
  const db = quoteMysql(database);
  await mysql.query(
    `INSERT INTO ${db}.subject_score (id, subject_id, asmt_type_id, score_type_id, code) VALUES ?`,
    [data.subjectScores.map((s) => [s.id, s.subjectId, s.asmtTypeId, s.scoreTypeId, s.code])],
  );
  for (const rows of batches(data.exams)) {
    await mysql.query(
      `INSERT INTO ${db}.exam (id, type_id, school_year, asmt_id, student_id, school_id, scale_score,
         performance_level, completed_at, update_import_id, deleted, created, updated) VALUES ?`,
      [
        rows.map((e) => [
          e.id,
          e.typeId,
          e.schoolYear,
          e.asmtId,
          e.studentId,
          e.schoolId,
          e.scaleScore,
          e.performanceLevel,
          e.completedAt,
          e.updateImportId,
          e.deleted ? 1 : 0,
          e.completedAt,
          e.updated,
        ]),
      ],
    );
  }
  for (const rows of batches(data.examScores)) {
    await mysql.query(
      `INSERT INTO ${db}.exam_score (id, exam_id, subject_score_id, scale_score, performance_level) VALUES ?`,
      [rows.map((s) => [s.id, s.examId, s.subjectScoreId, s.scaleScore, s.performanceLevel])],
    );
  }
}

/** Creates the tenant's OLAP schema with `exam` as migrate-olap filled it and the alt rows it already wrote. */
export async function installOlap(client: pg.Client, schema: string, data: Dataset): Promise<void> {
  for (const sql of olapDdl(schema)) await client.query(sql);
  const s = quotePg(schema);
  for (const score of data.subjectScores) {
    await client.query(`INSERT INTO ${s}.subject_score VALUES ($1, $2, $3, $4, $5)`, [
      score.id,
      score.subjectId,
      score.asmtTypeId,
      score.scoreTypeId,
      score.code,
    ]);
  }
  const inOlap = new Set(data.olapExamIds);
  const olapExams = data.exams.filter((exam) => inOlap.has(exam.id));
  for (const rows of batches(olapExams)) {
    await insertRows(
      client,
      `${s}.exam (id, type_id, student_id, asmt_id, school_year, scale_score, performance_level, completed_at, updated, migrate_id)`,
      rows.map((e) => [
        e.id,
        e.typeId,
        e.studentId,
        e.asmtId,
        e.schoolYear,
        e.scaleScore,
        e.performanceLevel,
        `${e.completedAt}+00`,
        `${e.updated}+00`,
        500,
      ]),
    );
  }
  await insertAltRows(client, schema, data.existingAltRows);
}

export async function insertAltRows(
  client: pg.Client,
  schema: string,
  rows: readonly AltScoreRow[],
): Promise<void> {
  for (const batch of batches(rows)) {
    await insertRows(
      client,
      `${quotePg(schema)}.exam_alt_score (id, exam_id, subject_score_id, student_id, asmt_id, school_year,
        scale_score, performance_level, completed_at, migrate_id, updated, update_import_id)`,
      batch.map((row) => altScoreValues(row, (utc) => `${utc}+00`)),
    );
  }
}

async function insertRows(client: pg.Client, into: string, rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  const width = rows[0]!.length;
  const values = rows.map(
    (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(", ")})`,
  );
  await client.query(`INSERT INTO ${into} VALUES ${values.join(", ")}`, rows.flat());
}
