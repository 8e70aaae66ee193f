import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import Table from "cli-table3";
import type { ContenderResult } from "./contenders.js";
import type { Shape } from "./dataset.js";

/** The contenders on one shape of warehouse. */
export interface ShapeResults {
  shape: Shape;
  rows: number;
  exams: number;
  examScores: number;
  /** Raw pipe, pgloader, then rdw-backfill's runs (as `RDW_RUNS` lists them). */
  contenders: ContenderResult[];
}

export interface BenchResults {
  /** Runs of each contender; the one with the median wall time is reported. */
  runs: number;
  shapes: ShapeResults[];
  /** A deployment of several tenants, one at a time and all at once. */
  deployment?: {
    tenants: number;
    one: ContenderResult;
    all: ContenderResult;
    /** Each round's wall times (seconds), in the order they ran: a round runs one, then all. */
    rounds: { one: number; all: number }[];
  };
  /** rdw-backfill's peak RSS on a tenth of the rows, to show that memory does not grow with N. */
  smallRun?: ContenderResult;
  versions: Record<string, string>;
  startedAt: string;
}

const MB = 1024 * 1024;
const ratio = (value: number, base: number | undefined) => (base ? `${(value / base).toFixed(2)}×` : "–");
const count = (n: number) => n.toLocaleString("en-US");

const HEADER = ["", "wall time (s)", "rows/s", "peak RSS (MB)", "time vs raw pipe", "time vs pgloader"];

function tableRows(shape: ShapeResults): string[][] {
  const raw = shape.contenders.find((c) => c.name.startsWith("raw pipe"));
  const loader = shape.contenders.find((c) => c.name.startsWith("pgloader"));
  return shape.contenders.map((c) => [
    c.name,
    c.wallSeconds.toFixed(1),
    count(Math.round(c.rows / c.wallSeconds)),
    (c.peakRssBytes / MB).toFixed(0),
    ratio(c.wallSeconds, raw?.wallSeconds),
    ratio(c.wallSeconds, loader?.wallSeconds),
  ]);
}

const CPU_HEADER = [
  "",
  "own processes",
  "MariaDB",
  "PostgreSQL",
  "benchmark process",
  "total",
  "total / wall time",
];

function cpuRow(c: ContenderResult): string[] {
  const total = c.cpuSeconds + c.serverCpuSeconds.MariaDB + c.serverCpuSeconds.PostgreSQL + c.benchCpuSeconds;
  return [
    c.name,
    c.cpuSeconds.toFixed(1),
    c.serverCpuSeconds.MariaDB.toFixed(1),
    c.serverCpuSeconds.PostgreSQL.toFixed(1),
    c.benchCpuSeconds.toFixed(1),
    total.toFixed(1),
    `${(total / c.wallSeconds).toFixed(2)} cores`,
  ];
}

const describeShape = (shape: ShapeResults) =>
  `${shape.shape}: ${count(shape.rows)} eligible alt-score rows from ${count(shape.exams)} exams and ` +
  `${count(shape.examScores)} exam scores`;

const deploymentRows = (d: NonNullable<BenchResults["deployment"]>) => [
  [
    d.one.name,
    d.one.wallSeconds.toFixed(1),
    count(d.one.rows),
    (d.one.peakRssBytes / MB).toFixed(0),
    "1.00×",
  ],
  [
    d.all.name,
    d.all.wallSeconds.toFixed(1),
    count(d.all.rows),
    (d.all.peakRssBytes / MB).toFixed(0),
    ratio(d.all.wallSeconds, d.one.wallSeconds),
  ],
];
const DEPLOYMENT_HEADER = ["", "wall time (s)", "rows", "peak RSS (MB)", "time vs --parallel 1"];

/**
 * The rounds side by side: the machine's speed drifts from round to round, so each round's own
 * ratio (its two runs minutes apart, not more) is shown with the ratio of the medians.
 */
function describeRounds(d: NonNullable<BenchResults["deployment"]>): string {
  const ratios = d.rounds.map((round) => round.all / round.one);
  const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!;
  const each = d.rounds.map(
    (round, index) => `${round.one.toFixed(1)} / ${round.all.toFixed(1)} s (${ratios[index]!.toFixed(2)}×)`,
  );
  return `Round by round, --parallel 1 / --parallel ${d.tenants}: ${each.join(", ")}; the median of the rounds' ratios ${median.toFixed(2)}×.`;
}

export function renderTerminal(results: BenchResults): string {
  const parts: string[] = [];
  for (const shape of results.shapes) {
    const table = new Table({ head: HEADER, style: { head: [], border: [] } });
    table.push(...tableRows(shape));
    parts.push(describeShape(shape), table.toString());
  }
  if (results.deployment) {
    const table = new Table({ head: DEPLOYMENT_HEADER, style: { head: [], border: [] } });
    table.push(...deploymentRows(results.deployment));
    parts.push(
      `a deployment of ${results.deployment.tenants} tenants`,
      table.toString(),
      describeRounds(results.deployment),
    );
  }
  return parts.join("\n");
}

export function renderMarkdown(results: BenchResults): string {
  const line = (cells: string[]) => `| ${cells.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`;
  const table = (header: string[], rows: string[][]) => [
    line(header),
    line(header.map(() => "---")),
    ...rows.map(line),
    "",
  ];
  const lines = [
    "# rdw-backfill benchmark",
    "",
    `${results.startedAt} (\`npm run bench\`); each contender ran ${results.runs} times, and the run with the median ` +
      "wall time is shown.",
    "",
  ];
  for (const shape of results.shapes) {
    lines.push(`## ${describeShape(shape)}`, "", ...table(HEADER, tableRows(shape)));
    lines.push(
      "Where the CPU went (seconds of user + system time while each ran; the benchmark process runs the",
      "S3-compatible server for rdw-backfill):",
      "",
      ...table(CPU_HEADER, shape.contenders.map(cpuRow)),
    );
    for (const c of shape.contenders.filter((c) => c.detail))
      lines.push(`${c.name}, its steps: ${c.detail}.`, "");
  }
  const { deployment } = results;
  if (deployment) {
    lines.push(
      `## A deployment of ${deployment.tenants} tenants (rich, a quarter of the size each), \`run --no-verify\``,
      "",
      ...table(DEPLOYMENT_HEADER, deploymentRows(deployment)),
      describeRounds(deployment),
      "",
    );
  }
  const ours = results.shapes
    .find((s) => s.shape === "rich")
    ?.contenders.find((c) => c.name === "rdw-backfill run --no-verify");
  if (results.smallRun && ours) {
    const growth = ours.peakRssBytes / results.smallRun.peakRssBytes - 1;
    lines.push(
      `rdw-backfill's peak RSS (\`run --no-verify\`, rich) on ${count(results.smallRun.rows)} rows: ` +
        `${(results.smallRun.peakRssBytes / MB).toFixed(0)} MB; on ${count(ours.rows)} rows ` +
        `${(ours.peakRssBytes / MB).toFixed(0)} MB (${growth >= 0 ? "+" : ""}${(growth * 100).toFixed(0)}%).`,
      "",
    );
  }
  lines.push("Machine and versions:", "");
  for (const [name, version] of Object.entries(results.versions)) lines.push(`- ${name}: ${version}`);
  return lines.join("\n") + "\n";
}

/** The machine and the versions of everything measured. */
export function describeMachine(serverVersions: Record<string, string>): Record<string, string> {
  const firstLine = (file: string, args: string[]) => {
    try {
      return execFileSync(file, args, { encoding: "utf8" }).trim().split("\n")[0] ?? "";
    } catch {
      return "not found";
    }
  };
  return {
    machine: `${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB memory`,
    node: process.version,
    ...serverVersions,
    "mariadb client": firstLine("mariadb", ["--version"]),
    psql: firstLine("psql", ["--version"]),
    pgloader: firstLine("pgloader", ["--version"]),
    "rdw-backfill": firstLine("git", ["describe", "--always", "--dirty"]),
  };
}
