import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Command {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface Measurement {
  wallSeconds: number;
  /** CPU seconds (user + system) of the pipeline's own processes. */
  cpuSeconds: number;
  /** CPU seconds the local database servers spent meanwhile. */
  serverCpuSeconds: Record<ServerName, number>;
  /** CPU seconds of this (the benchmark's) process meanwhile: the S3-compatible server, when one is used. */
  benchCpuSeconds: number;
  /** Sum over the pipeline's processes of each one's peak resident set (they run at once). */
  peakRssBytes: number;
  /** The last command's standard output. */
  stdout: string;
}

/**
 * Runs commands as a shell pipeline (each one's stdout into the next one's stdin), each under
 * GNU time for its peak RSS, and times the whole from the first start to the last exit.
 * Throws with the failing command's stderr when any of them fails.
 */
export async function measurePipeline(commands: Command[]): Promise<Measurement> {
  const dir = await mkdtemp(join(tmpdir(), "rdw-bench-time-"));
  try {
    const serversBefore = await serverCpu();
    const ownBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const children: Started[] = [];
    for (const [index, command] of commands.entries()) {
      // Each command reads the previous one's stdout directly, as in a shell pipeline: the bytes
      // do not pass through this process, which closes its own end once the next one has it.
      const previous = children[index - 1]?.child.stdout;
      children.push(start(command, join(dir, `${index}.rss`), previous ?? "ignore"));
      previous?.destroy();
    }
    let stdout = "";
    children[children.length - 1]!.child.stdout.setEncoding("utf8").on(
      "data",
      (text: string) => (stdout += text),
    );
    const codes = await Promise.all(children.map((c) => c.exited));
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const own = process.cpuUsage(ownBefore);
    const serversAfter = await serverCpu();
    codes.forEach((code, index) => {
      const failed = children[index]!;
      if (code !== 0) {
        throw new Error(
          `${failed.command.file} exited with ${code}: ${failed.stderr().trim().split("\n").slice(-5).join(" | ")}`,
        );
      }
    });
    let peakRssBytes = 0;
    let cpuSeconds = 0;
    for (const { timeFile } of children) {
      const text = await readFile(timeFile, "utf8");
      const [kilobytes, user, system] = (text.trim().split("\n").pop() ?? "").split(" ").map(Number);
      if (!Number.isFinite(kilobytes) || !Number.isFinite(user) || !Number.isFinite(system)) {
        throw new Error(`cannot read GNU time's output: ${text}`);
      }
      peakRssBytes += kilobytes! * 1024;
      cpuSeconds += user! + system!;
    }
    const serverCpuSeconds = {
      MariaDB: serversAfter.MariaDB - serversBefore.MariaDB,
      PostgreSQL: serversAfter.PostgreSQL - serversBefore.PostgreSQL,
    };
    const benchCpuSeconds = (own.user + own.system) / 1e6;
    return { wallSeconds, cpuSeconds, serverCpuSeconds, benchCpuSeconds, peakRssBytes, stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Started {
  command: Command;
  child: ChildProcessByStdio<null, Readable, Readable>;
  timeFile: string;
  exited: Promise<number>;
  stderr: () => string;
}

/** Starts a command under GNU time (peak RSS, user and system CPU into `timeFile`). */
function start(command: Command, timeFile: string, stdin: Readable | "ignore"): Started {
  const child = spawn("/usr/bin/time", ["-f", "%M %U %S", "-o", timeFile, command.file, ...command.args], {
    env: command.env ?? process.env,
    stdio: [stdin, "pipe", "pipe"],
  }) as ChildProcessByStdio<null, Readable, Readable>;
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr = (stderr + text).slice(-4000);
    // RDW_BENCH_VERBOSE=1 shows what the contenders print while they run.
    if (process.env.RDW_BENCH_VERBOSE) process.stderr.write(text);
  });
  const exited = new Promise<number>((done, fail) => {
    child.on("error", fail);
    child.on("close", (code) => done(code ?? 1));
  });
  return { command, child, timeFile, exited, stderr: () => stderr };
}

export type ServerName = "MariaDB" | "PostgreSQL";
const SERVER_COMMANDS: Record<string, ServerName> = {
  mariadbd: "MariaDB",
  mysqld: "MariaDB",
  postgres: "PostgreSQL",
};
const CLOCK_TICKS = 100; // USER_HZ on Linux

/**
 * CPU seconds used so far by the local database servers, from /proc: their processes' own time
 * plus that of exited children (PostgreSQL's finished backends are counted in the postmaster).
 */
export async function serverCpu(): Promise<Record<ServerName, number>> {
  const totals: Record<ServerName, number> = { MariaDB: 0, PostgreSQL: 0 };
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const match = /^\d+ \((.*)\) (.*)$/.exec(stat.trim());
    const server = match ? SERVER_COMMANDS[match[1]!] : undefined;
    if (!server) continue;
    // Fields 14-17 (utime, stime, cutime, cstime), counted from the state field as 3.
    const fields = match![2]!.split(" ");
    const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index] ?? 0), 0);
    totals[server] += ticks / CLOCK_TICKS;
  }
  return totals;
}
