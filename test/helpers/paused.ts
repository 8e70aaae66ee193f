import { type ChildProcess, spawn } from "node:child_process";
import { CLI, type World } from "./world.js";

export interface Paused {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Processes started by the tests; `killChildren` kills any left running. */
const children: ChildProcess[] = [];

export function killChildren(): void {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
}

/**
 * Starts the command line and waits until it stops at the given point (see run/pause-points.ts),
 * `pauses` times in all (tenants run at once each stop at `point#*`; `point` may list several,
 * separated by commas); with `continueFile`, it goes on once the test writes that file.
 */
export function startPaused(
  world: World,
  args: string[],
  point: string,
  continueFile?: string,
  pauses = 1,
): Promise<Paused> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: world.cliEnv({
      RDW_BACKFILL_TEST_PAUSE: point,
      ...(continueFile ? { RDW_BACKFILL_TEST_CONTINUE: continueFile } : {}),
    }),
  });
  children.push(child);
  let stderr = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no pause at ${point}; stderr:\n${stderr}`)), 30_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const reached = point.split(",").map((one) => stderr.split(`test pause at ${one}\n`).length - 1);
      if (reached.reduce((sum, n) => sum + n, 0) >= pauses) {
        clearTimeout(timer);
        resolve({ child, exited });
      }
    });
    void exited.then(() => reject(new Error(`exited before pausing at ${point}:\n${stderr}`)));
  });
}
