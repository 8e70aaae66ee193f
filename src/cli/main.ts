#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { ConfigError, describeError } from "../core/errors.js";
import { cleanupCommand, rollbackCommand } from "./commands/rollback.js";
import { historyCommand, restoreMigrateCommand, statusCommand } from "./commands/journal.js";
import { planCommand } from "./commands/plan.js";
import { verifyCommand } from "./commands/verify.js";
import { resumeCommand, runCommand } from "./commands/run.js";
import {
  withConfigOptions,
  withJournalOptions,
  withKeyOptions,
  withMigrateOptions,
  withMigrateTargetOptions,
  withParallelOption,
  withRunOptions,
  withSelectionOptions,
} from "./options.js";

/** The version in the package's own package.json (this file runs as dist/src/cli/main.js). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return manifest.version;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const exitWith = (work: Promise<number>) => work.then((code) => void (exitCode = code));
  const program = new Command()
    .name("rdw-backfill")
    .description("Back-fill RDW Alt Score data from each tenant's warehouse into exam_alt_score.")
    .version(packageVersion(), "-V, --version", "print the version")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  withParallelOption(
    withJournalOptions(
      withMigrateOptions(
        withConfigOptions(program.command("plan").description("show, read-only, everything run would do")),
      ),
    ),
  )
    .option("--json", "print the plan as JSON on stdout")
    .option("--no-verify", "plan without the full verify at the end of each tenant")
    .action((options) => exitWith(planCommand(options)));
  withSelectionOptions(
    program.command("verify").description("check, read-only, exam_alt_score against the warehouse"),
  )
    .option("--json", "print the checks as JSON on stdout")
    .action((options) => exitWith(verifyCommand(options)));
  withRunOptions(
    withJournalOptions(
      withMigrateOptions(
        withConfigOptions(program.command("run").description("back-fill the selected tenants")),
      ),
    ),
  )
    .option("--new-run", "start a new run even if an unfinished run of the same command exists")
    .action((options) => exitWith(runCommand(options)));
  withRunOptions(
    withJournalOptions(
      withMigrateOptions(
        withKeyOptions(program.command("resume <run>").description("finish an interrupted run")),
      ),
    ),
  )
    .option(
      "-s, --set <property=value>",
      "supply a property the journal does not keep (e.g. a password)",
      collect,
      [],
    )
    .action((run: string, options) => exitWith(resumeCommand(run, options)));
  withJournalOptions(
    program.command("status [run]").description("show a run's journal (default: the latest)"),
  )
    .option("--json", "print the journal as JSON")
    .action((run: string | undefined, options) => exitWith(statusCommand(run, options)));
  withJournalOptions(program.command("history").description("list the runs in the journal folder"))
    .option("--json", "print the list as JSON")
    .action((options) => exitWith(historyCommand(options)));
  withKeyOptions(
    withJournalOptions(
      program
        .command("rollback <run>")
        .description("restore the keys the run back-filled from its backup (--whole-table: the whole table)"),
    ),
  )
    .option("-t, --tenant <id>", "only this tenant (repeatable)", collect, [])
    .option(
      "-s, --set <property=value>",
      "supply a property the journal does not keep (e.g. a password)",
      collect,
      [],
    )
    .option("-y, --yes", "do not ask for confirmation")
    .option("--take-over-lock", "take over a tenant lock held by another run")
    .option(
      "--whole-table",
      "make exam_alt_score the backup again (rows written since are lost); default: only the keys the run back-filled",
    )
    .action((run: string, options) => exitWith(rollbackCommand(run, options)));
  withKeyOptions(
    withJournalOptions(
      program.command("cleanup <run>").description("drop the run's backup tables and staged files"),
    ),
  )
    .option(
      "-s, --set <property=value>",
      "supply a property the journal does not keep (e.g. a password)",
      collect,
      [],
    )
    .option("-y, --yes", "do not ask for confirmation")
    .action((run: string, options) => exitWith(cleanupCommand(run, options)));
  withMigrateTargetOptions(
    withJournalOptions(
      program
        .command("restore-migrate [run]")
        .description(
          "leave migrate-olap's lease for runs that died holding it; the last holder's leaving starts it again",
        ),
    ),
  )
    .option(
      "--take-over-lock",
      "also for a run that may still be running, and drop holders on other hosts (nothing here can prove them dead)",
    )
    .action((run: string | undefined, options) => exitWith(restoreMigrateCommand(run, options)));

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    process.stderr.write(`rdw-backfill: error: ${describeError(error)}\n`);
    return error instanceof ConfigError ? 2 : 1;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
