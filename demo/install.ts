import type { Connection } from "mysql2/promise";
import type pg from "pg";
import { quoteMysql } from "../src/dialects/mysql.js";
import { quotePg } from "../src/dialects/postgres.js";
import {
  type AltScoreRow,
  altScoreValues,
  type Dataset,
  type Exam,
  type ExamScore,
  type SubjectScore,
} from "./dataset.js";
import { olapDdl, warehouseDdl } from "./schema.js";

type Value = string | number | null;

/** A table the demo fills: its columns, and one row's values in that order. */
export interface TableShape<T> {
  columns: string;
  values(row: T): Value[];
}

export const SUBJECT_SCORE: TableShape<SubjectScore> = {
  columns: "id, subject_id, asmt_type_id, score_type_id, code",
  values: (s) => [s.id, s.subjectId, s.asmtTypeId, s.scoreTypeId, s.code],
};

/** Timestamps as UTC text, for a session in UTC. */
export const WAREHOUSE_EXAM: TableShape<Exam> = {
  columns:
    "id, type_id, school_year, asmt_id, student_id, school_id, scale_score, performance_level, " +
    "completed_at, update_import_id, deleted, created, updated",
  values: (e) => [
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
  ],
};

export const WAREHOUSE_EXAM_SCORE: TableShape<ExamScore> = {
  columns: "id, exam_id, subject_score_id, scale_score, performance_level",
  values: (s) => [s.id, s.examId, s.subjectScoreId, s.scaleScore, s.performanceLevel],
};

/** The OLAP `exam` row migrate-olap would have written (timestamps with their UTC offset). */
export const OLAP_EXAM: TableShape<Exam> = {
  columns:
    "id, type_id, student_id, asmt_id, school_year, scale_score, performance_level, completed_at, updated, migrate_id",
  values: (e) => [
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
  ],
};

export const OLAP_ALT_SCORE: TableShape<AltScoreRow> = {
  columns:
    "id, exam_id, subject_score_id, student_id, asmt_id, school_year, scale_score, performance_level, " +
    "completed_at, migrate_id, updated, update_import_id",
  values: (row) => altScoreValues(row, (utc) => `${utc}+00`),
};

const BATCH = 1000;

function* batches<T>(rows: readonly T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += BATCH) yield rows.slice(i, i + BATCH);
}

/**
 * Creates the warehouse database with its subject scores, and leaves the session in UTC, in
 * which its timestamps are written.
 */
export async function createWarehouse(
  mysql: Connection,
  database: string,
  subjectScores: readonly SubjectScore[],
): Promise<void> {
  await mysql.query("SET time_zone = '+00:00'");
  for (const sql of warehouseDdl(database)) await mysql.query(sql);
  await mysql.query(`INSERT INTO ${quoteMysql(database)}.subject_score (${SUBJECT_SCORE.columns}) VALUES ?`, [
    subjectScores.map(SUBJECT_SCORE.values),
  ]);
}

/** Creates the warehouse database and fills it. */
export async function installWarehouse(mysql: Connection, database: string, data: Dataset): Promise<void> {
  await createWarehouse(mysql, database, data.subjectScores);
  const db = quoteMysql(database);
  for (const rows of batches(data.exams)) {
    await mysql.query(`INSERT INTO ${db}.exam (${WAREHOUSE_EXAM.columns}) VALUES ?`, [
      rows.map(WAREHOUSE_EXAM.values),
    ]);
  }
  for (const rows of batches(data.examScores)) {
    await mysql.query(`INSERT INTO ${db}.exam_score (${WAREHOUSE_EXAM_SCORE.columns}) VALUES ?`, [
      rows.map(WAREHOUSE_EXAM_SCORE.values),
    ]);
  }
}

/** Creates the tenant's OLAP schema with its subject scores. */
export async function createOlap(
  client: pg.Client,
  schema: string,
  subjectScores: readonly SubjectScore[],
): Promise<void> {
  for (const sql of olapDdl(schema)) await client.query(sql);
  await insertRows(
    client,
    `${quotePg(schema)}.subject_score (${SUBJECT_SCORE.columns})`,
    subjectScores.map(SUBJECT_SCORE.values),
  );
}

/** Creates the tenant's OLAP schema with `exam` as migrate-olap filled it and the alt rows it already wrote. */
export async function installOlap(client: pg.Client, schema: string, data: Dataset): Promise<void> {
  await createOlap(client, schema, data.subjectScores);
  const inOlap = new Set(data.olapExamIds);
  const olapExams = data.exams.filter((exam) => inOlap.has(exam.id));
  for (const rows of batches(olapExams)) {
    await insertRows(client, `${quotePg(schema)}.exam (${OLAP_EXAM.columns})`, rows.map(OLAP_EXAM.values));
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
      `${quotePg(schema)}.exam_alt_score (${OLAP_ALT_SCORE.columns})`,
      batch.map(OLAP_ALT_SCORE.values),
    );
  }
}

async function insertRows(client: pg.Client, into: string, rows: Value[][]): Promise<void> {
  if (rows.length === 0) return;
  const width = rows[0]!.length;
  const values = rows.map(
    (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(", ")})`,
  );
  await client.query(`INSERT INTO ${into} VALUES ${values.join(", ")}`, rows.flat());
}
