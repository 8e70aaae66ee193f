import type { MigrateController } from "./controller.js";
import { runCommand } from "./run-command.js";

/**
 * Operator-supplied shell commands, for deployments not on Kubernetes. The quiesce command may
 * print the replica count to restore; the restore command gets it as RDW_BACKFILL_REPLICAS.
 */
export class CustomCommandController implements MigrateController {
  readonly description = "custom commands (--quiesce-cmd, --restore-cmd)";
  readonly commands: { quiesce: string[]; restore: string[] };

  constructor(
    private readonly quiesceCommand: string,
    private readonly restoreCommand: string,
  ) {
    this.commands = {
      quiesce: [quiesceCommand],
      restore: [`RDW_BACKFILL_REPLICAS=<remembered> ${restoreCommand}`],
    };
  }

  async replicas(): Promise<undefined> {
    return undefined;
  }

  async stop(): Promise<number | undefined> {
    const { stdout } = await runCommand(this.quiesceCommand, [], process.env, true);
    const printed = Number(stdout.trim().split("\n").pop());
    return stdout.trim() !== "" && Number.isInteger(printed) && printed >= 0 ? printed : undefined;
  }

  async restore(replicas: number): Promise<void> {
    await runCommand(
      this.restoreCommand,
      [],
      { ...process.env, RDW_BACKFILL_REPLICAS: String(replicas) },
      true,
    );
  }
}
