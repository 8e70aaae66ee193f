import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { localServers, openMysql, openPg } from "../demo/local-servers.js";
import { startLocalS3 } from "../demo/s3-server.js";
import { quotePg } from "../src/dialects/postgres.js";
import { type BenchContext, type ContenderResult, pgloader, rawPipe, rdwBackfill } from "./contenders.js";
import { type BenchDataset, findDataset, generateDataset, ROWS_PER_STUDENT } from "./dataset.js";
import { type BenchResults, describeMachine, renderMarkdown, renderTerminal } from "./results.js";

const OLAP_DATABASE = "rdw_bench";
const BUCKET = "rdw-bench-archive";
const SINCE = "2019-11-01 00:00:00";

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

function positiveInteger(text: string): number {
  const value = Number(text.replace(/_/g, ""));
  if (!Number.isInteger(value) || value <= 0)
    throw new InvalidArgumentError("expected a positive whole number");
  return value;
}

interface BenchOptions {
  rows: number;
  runs: number;
  only?: string;
  memoryCheck: boolean;
  out: string;
}

/**
 * `npm run bench`: the raw pipe, pgloader and rdw-backfill on the same generated warehouse,
 * with wall time, rows/s and peak RSS; fails unless all three move the same eligible rows.
 */
async function main(options: BenchOptions): Promise<void> {
  const servers = localServers();
  const mysql = await openMysql(servers.mysql);
  const admin = await openPg(servers.pg, "postgres");
  const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [OLAP_DATABASE]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${quotePg(OLAP_DATABASE)}`);
  await admin.end();
  const olap = await openPg(servers.pg, OLAP_DATABASE);
  const s3 = await startLocalS3([BUCKET]);
  try {
    const dataset = await ensureDataset(mysql, olap, Math.round(options.rows / ROWS_PER_STUDENT));
    const context: BenchContext = { servers, olap, olapDatabase: OLAP_DATABASE, dataset, since: SINCE };
    const [[server]] = (await mysql.query("SELECT version() AS version")) as unknown as [
      { version: string }[],
    ];
    const pgVersion = (await olap.query<{ server_version: string }>("SHOW server_version")).rows[0]!
      .server_version;
    const startedAt = new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC";

    const contenders: ContenderResult[] = [];
    for (const [label, run] of [
      ["raw pipe", () => rawPipe(context)],
      ["pgloader", () => pgloader(context)],
      ["rdw-backfill", () => rdwBackfill(context, s3, BUCKET)],
    ] as const) {
      if (options.only && options.only !== label) continue;
      const runs: ContenderResult[] = [];
      for (let round = 1; round <= options.runs; round++) {
        say(`running ${label} (${round} of ${options.runs}) …`);
        const result = await run();
        say(describe(label, result));
        runs.push(result);
      }
      if (new Set(runs.map((result) => result.rows)).size !== 1) {
        throw new Error(`${label} moved different numbers of rows from one run to the next`);
      }
      // The run with the median wall time stands for the contender, with all its figures.
      contenders.push(runs.sort((a, b) => a.wallSeconds - b.wallSeconds)[Math.floor(runs.length / 2)]!);
    }

    if (options.only) {
      say(`only ${options.only} was run: nothing to compare, ${options.out} is left alone`);
      return;
    }
    const counts = new Set(contenders.map((c) => c.rows));
    if (counts.size !== 1) {
      throw new Error(
        `the contenders disagree on the eligible rows: ${contenders.map((c) => `${c.name} ${c.rows}`).join(", ")}`,
      );
    }

    let smallRun: ContenderResult | undefined;
    if (options.memoryCheck) {
      const smallStudents = Math.round(dataset.students / 10);
      const small = await ensureDataset(mysql, olap, smallStudents);
      say(`running rdw-backfill on a tenth of the rows for the memory check …`);
      smallRun = await rdwBackfill({ ...context, dataset: small }, s3, BUCKET);
    }

    const results: BenchResults = {
      rows: contenders[0]!.rows,
      runs: options.runs,
      contenders,
      ...(smallRun ? { smallRun } : {}),
      versions: describeMachine({ MariaDB: server!.version, PostgreSQL: pgVersion }),
      startedAt,
    };
    process.stdout.write(renderTerminal(results) + "\n");
    const out = resolve(options.out);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, renderMarkdown(results));
    say(`written to ${out}`);
  } finally {
    await s3.stop();
    await mysql.end();
    await olap.end();
  }
}

function describe(label: string, result: ContenderResult): string {
  return (
    `${label}: ${result.rows} rows in ${result.wallSeconds.toFixed(1)} s, ` +
    `peak RSS ${(result.peakRssBytes / 1024 / 1024).toFixed(0)} MB, CPU ${result.cpuSeconds.toFixed(1)} s ` +
    `(MariaDB ${result.serverCpuSeconds.MariaDB.toFixed(1)} s, PostgreSQL ${result.serverCpuSeconds.PostgreSQL.toFixed(1)} s, ` +
    `benchmark process ${result.benchCpuSeconds.toFixed(1)} s)` +
    `${result.detail ? `; ${result.detail}` : ""}`
  );
}

async function ensureDataset(
  mysql: Awaited<ReturnType<typeof openMysql>>,
  olap: Awaited<ReturnType<typeof openPg>>,
  students: number,
): Promise<BenchDataset> {
  const found = await findDataset(mysql, olap, students);
  if (found) {
    say(`reusing ${found.warehouseDatabase}: ${found.exams} exams, ${found.examScores} exam scores`);
    return found;
  }
  say(`generating ${students} students into ${"rdw_bench_" + students} (once; later runs reuse it) …`);
  const started = Date.now();
  const generated = await generateDataset(mysql, olap, students, say);
  say(
    `generated ${generated.exams} exams, ${generated.examScores} exam scores, ${generated.olapExams} OLAP exams ` +
      `in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  return generated;
}

const program = new Command("npm run bench")
  .description("benchmark rdw-backfill against the raw pipe and pgloader on a generated warehouse")
  .option("--rows <n>", "about how many alt-score rows to extract", positiveInteger, 3_000_000)
  .option(
    "--runs <n>",
    "runs of each contender; the one with the median time is reported",
    positiveInteger,
    3,
  )
  .option("--only <contender>", "run one contender (raw pipe, pgloader or rdw-backfill) and compare nothing")
  .option("--no-memory-check", "skip the rdw-backfill run on a tenth of the rows")
  .option("--out <file>", "where to write the results table", "bench/results.md")
  .action(async (options: BenchOptions) => {
    try {
      await main(options);
    } catch (error) {
      say(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  });

await program.parseAsync();
