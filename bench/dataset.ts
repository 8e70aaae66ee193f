import { once } from "node:events";
import { PassThrough, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Connection } from "mysql2/promise";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { type AltScoreRow, altScoreValues, SUBJECT_SCORES } from "../src/demo/dataset.js";
import { DEFAULT_GENERATE_OPTIONS, type GenerateOptions, generateStudents } from "../src/demo/generate.js";
import { olapDdl, warehouseDdl } from "../src/demo/schema.js";
import { quoteMysql, quotePg } from "../src/plan/identifiers.js";

/** Bump when the generator or the schema changes, so that an older dataset is not reused. */
const DATASET_VERSION = 1;
/** Extracted alt-score rows per generated student (measured on the default options). */
export const ROWS_PER_STUDENT = 7.7;

export interface BenchDataset {
  warehouseDatabase: string;
  olapSchema: string;
  students: number;
  exams: number;
  examScores: number;
  olapExams: number;
  initialAltRows: number;
}

export function datasetNames(students: number): { warehouseDatabase: string; olapSchema: string } {
  return { warehouseDatabase: `rdw_bench_${students}`, olapSchema: `bench_${students}` };
}

const MARKER = "rdw_bench_dataset";

/** The dataset of this size, when a previous `npm run bench` finished generating it. */
export async function findDataset(
  mysql: Connection,
  olap: pg.Client,
  students: number,
): Promise<BenchDataset | undefined> {
  const names = datasetNames(students);
  try {
    const [rows] = await mysql.query(
      `SELECT version, exams, exam_scores FROM ${quoteMysql(names.warehouseDatabase)}.${MARKER}`,
    );
    const marker = (rows as { version: number; exams: number; exam_scores: number }[])[0];
    const olapMarker = await olap.query<{ version: number; olap_exams: string; alt_rows: string }>(
      `SELECT version, olap_exams, alt_rows FROM ${quotePg(names.olapSchema)}.${MARKER}`,
    );
    const olapRow = olapMarker.rows[0];
    if (marker?.version !== DATASET_VERSION || olapRow?.version !== DATASET_VERSION) return undefined;
    return {
      ...names,
      students,
      exams: Number(marker.exams),
      examScores: Number(marker.exam_scores),
      olapExams: Number(olapRow.olap_exams),
      initialAltRows: Number(olapRow.alt_rows),
    };
  } catch {
    return undefined; // not there, or an interrupted generation: generate again
  }
}

/**
 * Generates the tenant student by student and streams it into MariaDB (`LOAD DATA LOCAL
 * INFILE`) and PostgreSQL (`COPY`) at once, so millions of rows never sit in memory.
 */
export async function generateDataset(
  mysql: Connection,
  olap: pg.Client,
  students: number,
  say: (line: string) => void,
): Promise<BenchDataset> {
  const names = datasetNames(students);
  const db = quoteMysql(names.warehouseDatabase);
  const schema = quotePg(names.olapSchema);
  await mysql.query(`DROP DATABASE IF EXISTS ${db}`);
  await mysql.query("SET time_zone = '+00:00'");
  for (const sql of warehouseDdl(names.warehouseDatabase)) await mysql.query(sql);
  await mysql.query(
    `INSERT INTO ${db}.subject_score (id, subject_id, asmt_type_id, score_type_id, code) VALUES ?`,
    [SUBJECT_SCORES.map((s) => [s.id, s.subjectId, s.asmtTypeId, s.scoreTypeId, s.code])],
  );
  await olap.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await olap.query("SET timezone = 'UTC'");
  for (const sql of olapDdl(names.olapSchema)) await olap.query(sql);
  await olap.query(
    `INSERT INTO ${schema}.subject_score SELECT * FROM unnest($1::smallint[], $2::smallint[], $3::smallint[], $4::smallint[], $5::varchar[])`,
    [
      SUBJECT_SCORES.map((s) => s.id),
      SUBJECT_SCORES.map((s) => s.subjectId),
      SUBJECT_SCORES.map((s) => s.asmtTypeId),
      SUBJECT_SCORES.map((s) => s.scoreTypeId),
      SUBJECT_SCORES.map((s) => s.code),
    ],
  );

  const exams = new TsvSink();
  const examScores = new TsvSink();
  const olapExams = new TsvSink();
  const altRows = new TsvSink();
  // Each table loads through its own connection, all four at once.
  const scoresConnection = await cloneConnection(mysql);
  const altRowsClient = await cloneClient(olap);
  const loads = Promise.all([
    loadData(mysql, exams.stream, `${db}.exam`, EXAM_COLUMNS),
    loadData(scoresConnection, examScores.stream, `${db}.exam_score`, EXAM_SCORE_COLUMNS),
    copyInto(olap, olapExams.stream, `${schema}.exam (${OLAP_EXAM_COLUMNS})`),
    copyInto(altRowsClient, altRows.stream, `${schema}.exam_alt_score`),
  ]);
  const counts = { exams: 0, examScores: 0, olapExams: 0, altRows: 0 };
  const options: GenerateOptions = { ...DEFAULT_GENERATE_OPTIONS, students, seed: 20261124 };
  let generated = 0;
  for (const student of generateStudents(options)) {
    const olapIds = new Set(student.olapExamIds);
    for (const e of student.exams) {
      exams.add([
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
      ]);
      if (olapIds.has(e.id)) {
        olapExams.add([
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
        ]);
      }
    }
    for (const s of student.examScores) {
      examScores.add([s.id, s.examId, s.subjectScoreId, s.scaleScore, s.performanceLevel]);
    }
    for (const row of student.existingAltRows) altRows.add(altValues(row));
    counts.exams += student.exams.length;
    counts.examScores += student.examScores.length;
    counts.olapExams += student.olapExamIds.length;
    counts.altRows += student.existingAltRows.length;
    await Promise.all([exams.flush(), examScores.flush(), olapExams.flush(), altRows.flush()]);
    if (++generated % 50_000 === 0) say(`generated ${generated} of ${students} students`);
  }
  await Promise.all([exams.end(), examScores.end(), olapExams.end(), altRows.end()]);
  await loads;
  await scoresConnection.end();
  await altRowsClient.end();

  await mysql.query(`CREATE TABLE ${db}.${MARKER} (version INT, exams BIGINT, exam_scores BIGINT)`);
  await mysql.query(`INSERT INTO ${db}.${MARKER} VALUES (?, ?, ?)`, [
    DATASET_VERSION,
    counts.exams,
    counts.examScores,
  ]);
  await mysql.query(`ANALYZE TABLE ${db}.exam, ${db}.exam_score`);
  // The initial alt rows, to put exam_alt_score back as it was before each measured run.
  await olap.query(`CREATE TABLE ${schema}.exam_alt_score_initial AS SELECT * FROM ${schema}.exam_alt_score`);
  await olap.query(`ANALYZE ${schema}.exam`);
  await olap.query(`CREATE TABLE ${schema}.${MARKER} (version INT, olap_exams BIGINT, alt_rows BIGINT)`);
  await olap.query(`INSERT INTO ${schema}.${MARKER} VALUES ($1, $2, $3)`, [
    DATASET_VERSION,
    counts.olapExams,
    counts.altRows,
  ]);
  return {
    ...names,
    students,
    exams: counts.exams,
    examScores: counts.examScores,
    olapExams: counts.olapExams,
    initialAltRows: counts.altRows,
  };
}

const EXAM_COLUMNS =
  "id, type_id, school_year, asmt_id, student_id, school_id, scale_score, performance_level, completed_at, update_import_id, deleted, created, updated";
const EXAM_SCORE_COLUMNS = "id, exam_id, subject_score_id, scale_score, performance_level";
const OLAP_EXAM_COLUMNS =
  "id, type_id, student_id, asmt_id, school_year, scale_score, performance_level, completed_at, updated, migrate_id";

const altValues = (row: AltScoreRow) => altScoreValues(row, (utc) => `${utc}+00`);

/** Tab-separated lines with `\N` for NULL: what both LOAD DATA and COPY's text format read. */
class TsvSink {
  readonly stream = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  private pending = "";

  add(values: readonly (string | number | null)[]): void {
    this.pending += values.map((value) => (value === null ? "\\N" : String(value))).join("\t") + "\n";
  }

  async flush(): Promise<void> {
    if (this.pending.length < 256 * 1024) return;
    await write(this.stream, this.pending);
    this.pending = "";
  }

  async end(): Promise<void> {
    if (this.pending) await write(this.stream, this.pending);
    this.stream.end();
  }
}

async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, "drain");
}

async function loadData(
  mysql: Connection,
  input: PassThrough,
  table: string,
  columns: string,
): Promise<void> {
  await mysql.query({
    sql: `LOAD DATA LOCAL INFILE 'generated.tsv' INTO TABLE ${table} (${columns})`,
    infileStreamFactory: () => input,
  });
}

async function copyInto(client: pg.Client, input: PassThrough, into: string): Promise<void> {
  await pipeline(input, client.query(copyFrom(`COPY ${into} FROM STDIN`)));
}

async function cloneConnection(mysql: Connection): Promise<Connection> {
  const { createConnection } = await import("mysql2/promise");
  const { host, port, user, password } = mysql.config;
  const clone = await createConnection({ host, port, user, password: password ?? "" });
  await clone.query("SET time_zone = '+00:00'");
  return clone;
}

async function cloneClient(client: pg.Client): Promise<pg.Client> {
  const { default: pgModule } = await import("pg");
  const clone = new pgModule.Client({
    host: client.host,
    port: client.port,
    user: client.user,
    database: client.database,
    password: client.password ?? "",
  });
  await clone.connect();
  await clone.query("SET timezone = 'UTC'");
  return clone;
}
