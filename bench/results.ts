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
  /** Each contender's wall times (seconds), round by round, in the order of `contenders`. */
  walls: number[][];
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
    /**
     * Each round's wall times and total CPU seconds (`totalCpu`), in the order they ran: a round
     * runs one, then all.
     */
    rounds: { one: number; all: number; oneCpu: number; allCpu: number }[];
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
  "idle core-seconds",
];

const CORES = cpus().length;

/** CPU seconds of everything measured while `c` ran: its processes, both servers, the S3-compatible server. */
export const totalCpu = (c: ContenderResult) =>
  c.cpuSeconds + c.serverCpuSeconds.MariaDB + c.serverCpuSeconds.PostgreSQL + c.benchCpuSeconds;

function cpuRow(c: ContenderResult): string[] {
  const total = totalCpu(c);
  return [
    c.name,
    c.cpuSeconds.toFixed(1),
    c.serverCpuSeconds.MariaDB.toFixed(1),
    c.serverCpuSeconds.PostgreSQL.toFixed(1),
    c.benchCpuSeconds.toFixed(1),
    total.toFixed(1),
    `${(total / c.wallSeconds).toFixed(2)} cores`,
    // What the cores could have done and did not (other processes of the machine are not counted).
    Math.max(0, CORES * c.wallSeconds - total).toFixed(1),
  ];
}

const CPU_CAPTION = [
  "Where the CPU went (seconds of user + system time while each ran; the benchmark process runs the",
  `S3-compatible server for rdw-backfill; idle core-seconds: ${CORES} cores × the wall time − the total):`,
];

/**
 * The shortest wall time the reported run of tenants at once could have taken with the CPU it
 * spent: that CPU over every core, none idle. No order of the work gets its ratio to --parallel 1
 * below this, short of spending less CPU.
 */
const deploymentBound = (d: NonNullable<BenchResults["deployment"]>) => {
  const cpu = totalCpu(d.all);
  const shortest = cpu / CORES;
  return (
    `With no core idle, --parallel ${d.tenants}'s ${cpu.toFixed(1)} CPU seconds would take ` +
    `${shortest.toFixed(1)} s on ${CORES} cores: ${ratio(shortest, d.one.wallSeconds)} of --parallel 1.`
  );
};

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

/** The middle item by `value` (of an even count, the upper of the two): the bench's one median. */
export const medianBy = <T>(items: readonly T[], value: (item: T) => number): T =>
  [...items].sort((a, b) => value(a) - value(b))[Math.floor(items.length / 2)]!;

/**
 * Each round's own ratios, with their median: the machine's speed drifts from round to round, and
 * a round's runs are minutes apart, not more, so these say more than the ratio of the medians.
 */
function describeRounds(base: RoundWalls, others: readonly RoundWalls[]): string {
  const walls = ([name, seconds]: RoundWalls) =>
    `${name} (${seconds.map((wall) => wall.toFixed(1)).join(", ")} s)`;
  const each = others.map((other) => {
    const ratios = other[1].map((wall, round) => wall / base[1][round]!);
    return `${walls(other)} ${ratios.map((r) => `${r.toFixed(2)}×`).join(", ")} (median ${medianBy(ratios, (r) => r).toFixed(2)}×)`;
  });
  return `Round by round, the time vs ${walls(base)}: ${each.join("; ")}.`;
}

/** A contender's name and its wall times (seconds), round by round. */
type RoundWalls = [name: string, walls: number[]];

const shapeRounds = (shape: ShapeResults) => {
  const [base, ...others] = shape.contenders.map((c, index): RoundWalls => [c.name, shape.walls[index]!]);
  if (!base || others.length === 0 || base[1].length < 2) return [];
  return [describeRounds(base, others)];
};

const deploymentRounds = (d: NonNullable<BenchResults["deployment"]>) =>
  describeRounds(
    ["--parallel 1", d.rounds.map((round) => round.one)],
    [[`--parallel ${d.tenants}`, d.rounds.map((round) => round.all)]],
  );

/**
 * The same work's CPU seconds, round by round. On a shared virtual machine they drift by tens of
 * percent from one minute to the next (2026-12-08: `--parallel 1` 59 s, then 87 s two minutes later), and
 * a round's ratio moves with them: this line shows how steady the machine was.
 */
function deploymentCpuDrift(d: NonNullable<BenchResults["deployment"]>): string {
  const seconds = (values: number[]) => values.map((cpu) => cpu.toFixed(1)).join(", ");
  const ones = d.rounds.map((round) => round.oneCpu);
  const spread = Math.max(...ones) / Math.min(...ones) - 1;
  return (
    `The same work's CPU seconds, round by round: --parallel 1 ${seconds(ones)}; ` +
    `--parallel ${d.tenants} ${seconds(d.rounds.map((round) => round.allCpu))}` +
    (ones.length > 1 ? ` (--parallel 1's most is ${(spread * 100).toFixed(0)}% above its least).` : ".")
  );
}

export function renderTerminal(results: BenchResults): string {
  const parts: string[] = [];
  for (const shape of results.shapes) {
    const table = new Table({ head: HEADER, style: { head: [], border: [] } });
    table.push(...tableRows(shape));
    parts.push(describeShape(shape), table.toString(), ...shapeRounds(shape));
  }
  if (results.deployment) {
    const table = new Table({ head: DEPLOYMENT_HEADER, style: { head: [], border: [] } });
    table.push(...deploymentRows(results.deployment));
    parts.push(
      `a deployment of ${results.deployment.tenants} tenants`,
      table.toString(),
      deploymentRounds(results.deployment),
      deploymentCpuDrift(results.deployment),
      deploymentBound(results.deployment),
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
    for (const rounds of shapeRounds(shape)) lines.push(rounds, "");
    lines.push(...CPU_CAPTION, "", ...table(CPU_HEADER, shape.contenders.map(cpuRow)));
    for (const c of shape.contenders.filter((c) => c.detail))
      lines.push(`${c.name}, its steps: ${c.detail}.`, "");
  }
  const { deployment } = results;
  if (deployment) {
    lines.push(
      `## A deployment of ${deployment.tenants} tenants (rich, a quarter of the size each), \`run --no-verify\``,
      "",
      ...table(DEPLOYMENT_HEADER, deploymentRows(deployment)),
      deploymentRounds(deployment),
      "",
      deploymentCpuDrift(deployment),
      "",
      ...CPU_CAPTION,
      "",
      ...table(CPU_HEADER, [deployment.one, deployment.all].map(cpuRow)),
      deploymentBound(deployment),
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
