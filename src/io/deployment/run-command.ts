import { execFile } from "node:child_process";
import { RuntimeError } from "../../core/errors.js";

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell; a failure names the command and what it said. */
export function runCommand(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  shell = false,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { env, shell, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) {
        const said = (stderr || stdout || error.message).trim().split("\n")[0];
        reject(new RuntimeError(`${[file, ...args].join(" ")} failed: ${said}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}
