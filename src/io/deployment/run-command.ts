import { execFile } from "node:child_process";
import { RuntimeError } from "../../core/errors.js";

export interface CommandResult {
  stdout: string;
  stderr: string;
}

const COMMAND_TIMEOUT_MS = 120_000;

/** Runs a program without a shell; a failure names the command and what it said, or that it hung. */
export function runCommand(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  shell = false,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { env, shell, timeout: COMMAND_TIMEOUT_MS, killSignal: "SIGKILL" },
      (error, stdout, stderr) => {
        if (error?.killed) {
          reject(
            new RuntimeError(
              `${[file, ...args].join(" ")} did not finish within ${COMMAND_TIMEOUT_MS / 1000} s and was stopped`,
            ),
          );
        } else if (error) {
          const said = (stderr || stdout || error.message).trim().split("\n")[0];
          reject(new RuntimeError(`${[file, ...args].join(" ")} failed: ${said}`));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}
