import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { localServers, openMysql, openPg } from "../demo/local-servers.js";
import { startLocalS3 } from "../demo/s3-server.js";
import { quotePg } from "../src/dialects/postgres.js";
import {
  type BenchContext,
  type ContenderResult,
  pgloader,
  rawPipe,
  rdwBackfill,
  type RdwRun,
} from "./contenders.js";
import {
  type BenchDataset,
  type DatasetSpec,
  findDataset,
  generateDataset,
  ROWS_PER_STUDENT,
  type Shape,
} from "./dataset.js";
import {
  type BenchResults,
  describeMachine,
  medianBy,
  renderMarkdown,
  renderTerminal,
  type ShapeResults,
  totalCpu,
} from "./results.js";

const OLAP_DATABASE = "rdw_bench";
const BUCKET = "rdw-bench-archive";
const SINCE = "2019-11-01 00:00:00";
/** The deployment: this many tenants of a quarter of the default size each. */
const DEPLOYMENT_TENANTS = 4;
/** The deployment's name in the log, and what `--only` matches to run it alone. */
const DEPLOYMENT_LABEL = "deployment";

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
  shape: Shape | "both";
  only?: string;
  deployment: boolean;
  memoryCheck: boolean;
  out: string;
}

type Mysql = Awaited<ReturnType<typeof openMysql>>;
type Pg = Awaited<ReturnType<typeof openPg>>;

/** The rdw-backfill contenders, each measured on every shape. */
const RDW_RUNS: [string, RdwRun][] = [
  ["run --no-verify", { command: "run", extraArgs: ["--no-verify"] }],
  ["run", { command: "run", extraArgs: [] }],
  ["verify", { command: "verify", extraArgs: [] }],
];

/**
 * `npm run bench`: on each shape of generated warehouse, the raw pipe, pgloader and rdw-backfill
 * (run without and with verify, and verify alone), with wall time, rows/s and peak RSS; then a
 * deployment of four tenants with `--parallel 1` and `--parallel 4`. Fails unless every contender
 * moves the same eligible rows and every rdw-backfill run passes its checks.
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
    const [[server]] = (await mysql.query("SELECT version() AS version")) as unknown as [
      { version: string }[],
    ];
    const pgVersion = (await olap.query<{ server_version: string }>("SHOW server_version")).rows[0]!
      .server_version;
    const startedAt = new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC";
    const shapes: Shape[] = options.shape === "both" ? ["rich", "lean"] : [options.shape];
    const context = (dataset: BenchDataset): BenchContext => ({
      servers,
      olap,
      olapDatabase: OLAP_DATABASE,
      dataset,
      since: SINCE,
      eligibleRows: 0,
    });

    const results: ShapeResults[] = [];
    for (const shape of shapes) {
      const students = Math.round(options.rows / ROWS_PER_STUDENT[shape]);
      const dataset = await ensureDataset(mysql, olap, { shape, students, tenant: 0 });
      const onShape = context(dataset);
      const everyContender: Contender[] = [
        ["raw pipe", () => rawPipe(onShape)],
        ["pgloader", () => pgloader(onShape)],
        ...RDW_RUNS.map(([label, how]): Contender => [
          `rdw-backfill ${label}`,
          () => rdwBackfill(onShape, s3, BUCKET, [dataset], how),
        ]),
      ];
      const contenders = everyContender
        .filter(([label]) => !options.only || label.startsWith(options.only))
        .map(([label, run]): Contender => [
          `${label} (${shape})`,
          // `verify` alone reports the eligible rows the first contender moved
          () => run().then((result) => ((onShape.eligibleRows ||= result.rows), result)),
        ]);
      const rounds = await mediansOfRounds(contenders, options.runs);
      const measured = rounds.map(({ median }) => median);
      const counts = new Set(measured.map((c) => c.rows));
      if (counts.size > 1) {
        throw new Error(
          `${shape}: the contenders disagree on the eligible rows: ${measured.map((c) => `${c.name} ${c.rows}`).join(", ")}`,
        );
      }
      results.push({
        shape,
        rows: measured[0]?.rows ?? 0,
        exams: dataset.exams,
        examScores: dataset.examScores,
        contenders: measured,
        walls: rounds.map(({ walls }) => walls),
      });
    }

    let deployment: BenchResults["deployment"];
    if (options.deployment && (!options.only || DEPLOYMENT_LABEL.startsWith(options.only))) {
      const students = Math.round(options.rows / ROWS_PER_STUDENT.rich / DEPLOYMENT_TENANTS);
      const datasets: BenchDataset[] = [];
      for (let tenant = 1; tenant <= DEPLOYMENT_TENANTS; tenant++)
        datasets.push(await ensureDataset(mysql, olap, { shape: "rich", students, tenant }));
      const atOnce = (n: number): Contender => [
        `${DEPLOYMENT_LABEL} of ${DEPLOYMENT_TENANTS} tenants, --parallel ${n}`,
        () =>
          rdwBackfill(context(datasets[0]!), s3, BUCKET, datasets, {
            command: "run",
            extraArgs: ["--no-verify", "--parallel", String(n)],
          }),
      ];
      const [one, all] = await mediansOfRounds([atOnce(1), atOnce(DEPLOYMENT_TENANTS)], options.runs);
      deployment = {
        tenants: DEPLOYMENT_TENANTS,
        one: one!.median,
        all: all!.median,
        rounds: one!.walls.map((oneWall, round) => ({
          one: oneWall,
          all: all!.walls[round]!,
          oneCpu: one!.cpus[round]!,
          allCpu: all!.cpus[round]!,
        })),
      };
    }

    let smallRun: ContenderResult | undefined;
    if (options.memoryCheck && !options.only) {
      const students = Math.round(options.rows / ROWS_PER_STUDENT.rich / 10);
      const small = await ensureDataset(mysql, olap, { shape: "rich", students, tenant: 0 });
      say(`running rdw-backfill on a tenth of the rows for the memory check …`);
      smallRun = await rdwBackfill(context(small), s3, BUCKET, [small], RDW_RUNS[0]![1]);
    }

    const all: BenchResults = {
      runs: options.runs,
      shapes: results,
      ...(deployment ? { deployment } : {}),
      ...(smallRun ? { smallRun } : {}),
      versions: describeMachine({ MariaDB: server!.version, PostgreSQL: pgVersion }),
      startedAt,
    };
    process.stdout.write(renderTerminal(all) + "\n");
    if (options.only) {
      say(`only ${options.only} was run: ${options.out} is left alone`);
      return;
    }
    const out = resolve(options.out);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, renderMarkdown(all));
    say(`written to ${out}`);
  } finally {
    await s3.stop();
    await mysql.end();
    await olap.end();
  }
}

type Contender = [label: string, run: () => Promise<ContenderResult>];

/**
 * Runs each contender `runs` times, round by round (every contender once per round, in order),
 * so that a machine whose speed drifts over minutes slows every contender alike instead of the
 * ones measured last; the run with the median wall time stands for each, with all its figures,
 * and each run's wall time and total CPU seconds are kept in round order.
 */
async function mediansOfRounds(
  contenders: readonly Contender[],
  runs: number,
): Promise<{ median: ContenderResult; walls: number[]; cpus: number[] }[]> {
  const results = contenders.map((): ContenderResult[] => []);
  for (let round = 1; round <= runs; round++) {
    for (const [index, [label, run]] of contenders.entries()) {
      say(`running ${label} (${round} of ${runs}) …`);
      const result = await run();
      say(describe(label, result));
      results[index]!.push(result);
    }
  }
  return contenders.map(([label], index) => {
    const measured = results[index]!;
    if (new Set(measured.map((result) => result.rows)).size !== 1) {
      throw new Error(`${label} moved different numbers of rows from one run to the next`);
    }
    const walls = measured.map((result) => result.wallSeconds);
    const median = medianBy(measured, (result) => result.wallSeconds);
    return { median, walls, cpus: measured.map(totalCpu) };
  });
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

async function ensureDataset(mysql: Mysql, olap: Pg, spec: DatasetSpec): Promise<BenchDataset> {
  const found = await findDataset(mysql, olap, spec);
  if (found) {
    say(`reusing ${found.warehouseDatabase}: ${found.exams} exams, ${found.examScores} exam scores`);
    return found;
  }
  say(`generating ${spec.students} students (${spec.shape}) once; later runs reuse them …`);
  const started = Date.now();
  const generated = await generateDataset(mysql, olap, spec, say);
  say(
    `generated ${generated.warehouseDatabase}: ${generated.exams} exams, ${generated.examScores} exam scores, ` +
      `${generated.olapExams} OLAP exams in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  return generated;
}

const program = new Command("npm run bench")
  .description("benchmark rdw-backfill against the raw pipe and pgloader on generated warehouses")
  .option("--rows <n>", "about how many alt-score rows to extract per shape", positiveInteger, 3_000_000)
  .option(
    "--runs <n>",
    "runs of each contender; the one with the median time is reported",
    positiveInteger,
    3,
  )
  .addOption(
    new Option("--shape <shape>", "which warehouse shape to measure")
      .choices(["rich", "lean", "both"])
      .default("both"),
  )
  .option(
    "--only <contender>",
    "run the contenders whose name starts with this (raw pipe, pgloader, rdw-backfill, rdw-backfill run, …, deployment) and write nothing",
  )
  .option("--no-deployment", `skip the deployment of ${DEPLOYMENT_TENANTS} tenants (--parallel 1 and 4)`)
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
