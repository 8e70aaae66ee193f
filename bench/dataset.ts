import { once } from "node:events";
import { PassThrough, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Connection } from "mysql2/promise";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { SUBJECT_SCORES } from "../demo/dataset.js";
import { DEFAULT_GENERATE_OPTIONS, type GenerateOptions, generateStudents } from "../demo/generate.js";
import {
  createOlap,
  createWarehouse,
  OLAP_ALT_SCORE,
  OLAP_EXAM,
  WAREHOUSE_EXAM,
  WAREHOUSE_EXAM_SCORE,
} from "../demo/install.js";
import { quoteMysql } from "../src/dialects/mysql.js";
import { quotePg } from "../src/dialects/postgres.js";

/** Bump when the generator or the schema changes, so that an older dataset is not reused. */
const DATASET_VERSION = 1;
/**
 * The two shapes of warehouse the benchmark measures. `rich`: every assessment (IAB, ICA and
 * summative) with its claim scores, about 2.6 score rows per exam and 5.8 per eligible alt score,
 * where the source join dominates. `lean`: only assessments that have an alt score, three score
 * rows per exam, where the join is cheap and the tool's own work shows.
 */
export type Shape = "rich" | "lean";

/** Extracted alt-score rows per generated student, per shape (measured on the generator's options). */
export const ROWS_PER_STUDENT: Record<Shape, number> = { rich: 7.7, lean: 7.2 };

const SHAPE_OPTIONS: Record<Shape, Partial<GenerateOptions>> = {
  rich: {},
  lean: { altScoreAssessmentsOnly: true, schoolYears: [2020, 2021, 2022] },
};

/** Which dataset: its shape, its size, and which tenant of a deployment (0 for a lone tenant). */
export interface DatasetSpec {
  shape: Shape;
  students: number;
  tenant: number;
}

export interface BenchDataset {
  spec: DatasetSpec;
  warehouseDatabase: string;
  olapSchema: string;
  students: number;
  exams: number;
  examScores: number;
  olapExams: number;
  initialAltRows: number;
}

export function datasetNames(spec: DatasetSpec): { warehouseDatabase: string; olapSchema: string } {
  const name = `${spec.shape === "lean" ? "lean_" : ""}${spec.students}${spec.tenant > 0 ? `_t${spec.tenant}` : ""}`;
  return { warehouseDatabase: `rdw_bench_${name}`, olapSchema: `bench_${name}` };
}

const MARKER = "rdw_bench_dataset";

/** The dataset of this size, when a previous `npm run bench` finished generating it. */
export async function findDataset(
  mysql: Connection,
  olap: pg.Client,
  spec: DatasetSpec,
): Promise<BenchDataset | undefined> {
  const names = datasetNames(spec);
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
      spec,
      ...names,
      students: spec.students,
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
  spec: DatasetSpec,
  say: (line: string) => void,
): Promise<BenchDataset> {
  const { students } = spec;
  const names = datasetNames(spec);
  const db = quoteMysql(names.warehouseDatabase);
  const schema = quotePg(names.olapSchema);
  await mysql.query(`DROP DATABASE IF EXISTS ${db}`);
  await createWarehouse(mysql, names.warehouseDatabase, SUBJECT_SCORES);
  await olap.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await olap.query("SET timezone = 'UTC'");
  await createOlap(olap, names.olapSchema, SUBJECT_SCORES);

  const exams = new TsvSink();
  const examScores = new TsvSink();
  const olapExams = new TsvSink();
  const altRows = new TsvSink();
  // Each table loads through its own connection, all four at once.
  const scoresConnection = await cloneConnection(mysql);
  const altRowsClient = await cloneClient(olap);
  const loads = Promise.all([
    loadData(mysql, exams.stream, `${db}.exam`, WAREHOUSE_EXAM.columns),
    loadData(scoresConnection, examScores.stream, `${db}.exam_score`, WAREHOUSE_EXAM_SCORE.columns),
    copyInto(olap, olapExams.stream, `${schema}.exam (${OLAP_EXAM.columns})`),
    copyInto(altRowsClient, altRows.stream, `${schema}.exam_alt_score (${OLAP_ALT_SCORE.columns})`),
  ]);
  const counts = { exams: 0, examScores: 0, olapExams: 0, altRows: 0 };
  const options: GenerateOptions = {
    ...DEFAULT_GENERATE_OPTIONS,
    ...SHAPE_OPTIONS[spec.shape],
    students,
    seed: 20261124 + spec.tenant,
  };
  let generated = 0;
  for (const student of generateStudents(options)) {
    const olapIds = new Set(student.olapExamIds);
    for (const exam of student.exams) {
      exams.add(WAREHOUSE_EXAM.values(exam));
      if (olapIds.has(exam.id)) olapExams.add(OLAP_EXAM.values(exam));
    }
    for (const score of student.examScores) examScores.add(WAREHOUSE_EXAM_SCORE.values(score));
    for (const row of student.existingAltRows) altRows.add(OLAP_ALT_SCORE.values(row));
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
    spec,
    ...names,
    students,
    exams: counts.exams,
    examScores: counts.examScores,
    olapExams: counts.olapExams,
    initialAltRows: counts.altRows,
  };
}

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
