import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import Table from "cli-table3";
import type { ContenderResult } from "./contenders.js";

export interface BenchResults {
  rows: number;
  /** Runs of each contender; the one with the median wall time is reported. */
  runs: number;
  contenders: ContenderResult[];
  /** rdw-backfill's peak RSS on a tenth of the rows, to show that memory does not grow with N. */
  smallRun?: ContenderResult;
  versions: Record<string, string>;
  startedAt: string;
}

const MB = 1024 * 1024;
const ratio = (value: number, base: number | undefined) => (base ? `${(value / base).toFixed(2)}×` : "–");

function tableRows(results: BenchResults): string[][] {
  const [raw, loader] = results.contenders;
  return results.contenders.map((c) => [
    c.name,
    c.wallSeconds.toFixed(1),
    Math.round(c.rows / c.wallSeconds).toLocaleString("en-US"),
    (c.peakRssBytes / MB).toFixed(0),
    ratio(c.wallSeconds, raw?.wallSeconds),
    ratio(c.wallSeconds, loader?.wallSeconds),
  ]);
}

const HEADER = ["", "wall time (s)", "rows/s", "peak RSS (MB)", "time vs raw pipe", "time vs pgloader"];

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

export function renderTerminal(results: BenchResults): string {
  const table = new Table({ head: HEADER, style: { head: [], border: [] } });
  table.push(...tableRows(results));
  return table.toString();
}

export function renderMarkdown(results: BenchResults): string {
  const line = (cells: string[]) => `| ${cells.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`;
  const lines = [
    "# rdw-backfill benchmark",
    "",
    `${results.rows.toLocaleString("en-US")} eligible alt-score rows, ${results.startedAt} (\`npm run bench\`); ` +
      `each contender ran ${results.runs} times, and the run with the median wall time is shown.`,
    "",
    line(HEADER),
    line(HEADER.map(() => "---")),
    ...tableRows(results).map(line),
    "",
  ];
  lines.push(
    "Where the CPU went (seconds of user + system time while each ran; the benchmark process runs the",
    "S3-compatible server for rdw-backfill):",
    "",
    line(CPU_HEADER),
    line(CPU_HEADER.map(() => "---")),
    ...results.contenders.map((c) => line(cpuRow(c))),
    "",
  );
  const ours = results.contenders[2];
  if (ours) lines.push(`rdw-backfill's steps: ${ours.detail}.`, "");
  if (results.smallRun && ours) {
    const growth = ours.peakRssBytes / results.smallRun.peakRssBytes - 1;
    lines.push(
      `rdw-backfill's peak RSS on ${results.smallRun.rows.toLocaleString("en-US")} rows: ` +
        `${(results.smallRun.peakRssBytes / MB).toFixed(0)} MB; on ${ours.rows.toLocaleString("en-US")} rows ` +
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
