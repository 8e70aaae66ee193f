#!/usr/bin/env node
import { Command, CommanderError, Option } from "commander";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { resolveConfig } from "../config/settings.js";
import { ConfigError, describeError } from "../errors.js";
import { buildPlan, DEFAULT_PART_BYTES } from "../plan/build.js";
import type { ExtractMode, LoadMode, ModeRequest } from "../plan/modes.js";
import { planToJson, renderPlan } from "../plan/render.js";
import { renderSummaryTable, writeReportFiles } from "../report/render.js";
import { runPlan } from "../run/execute.js";
import { barProgress, lineProgress } from "./progress-ui.js";

interface CommonOptions {
  config: string;
  tenant: string[];
  set: string[];
  since?: string;
  backup: boolean;
  json?: boolean;
  partSize: number;
  extract: ModeRequest<ExtractMode>;
  load: ModeRequest<LoadMode>;
}

interface RunCommandOptions extends CommonOptions {
  yes?: boolean;
  reportDir?: string;
  failFast?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function withCommonOptions(command: Command): Command {
  return command
    .requiredOption(
      "-c, --config <dir>",
      "RDW configuration folder (application.yml, tenant-*/application.yml, …)",
    )
    .option("-t, --tenant <id>", "tenant or sandbox to back-fill (repeatable; default: all)", collect, [])
    .option(
      "-s, --set <property=value>",
      "override a configuration property, as Spring would (repeatable)",
      collect,
      [],
    )
    .option(
      "--since <utc time>",
      "back-fill exams updated at or after this UTC time (default 2019-11-01 00:00:00)",
    )
    .option("--no-backup", "do not copy exam_alt_score to exam_alt_score_backup_<run id> first")
    .addOption(
      new Option("--part-size <MiB>", "size of each staged part")
        .default(DEFAULT_PART_BYTES / 1024 / 1024)
        .argParser((value) => {
          const size = Number(value);
          if (!Number.isInteger(size) || size < 1)
            throw new ConfigError(`--part-size ${value}: expected whole MiB`);
          return size;
        }),
    )
    .addOption(
      new Option("--extract <mode>", "aurora: Aurora writes to S3; stream: through this process")
        .choices(["auto", "aurora", "stream"])
        .default("auto"),
    )
    .addOption(
      new Option("--load <mode>", "redshift: COPY from S3; postgres: COPY FROM STDIN")
        .choices(["auto", "redshift", "postgres"])
        .default("auto"),
    )
    .option("--json", "print the plan or the summary as JSON on stdout");
}

async function planFor(options: CommonOptions) {
  const config = resolveConfig({
    configDir: options.config,
    tenants: options.tenant,
    overrides: options.set,
    ...(options.since === undefined ? {} : { since: options.since }),
  });
  return buildPlan(config, {
    backup: options.backup,
    partBytes: options.partSize * 1024 * 1024,
    extract: options.extract,
    load: options.load,
  });
}

async function planCommand(options: CommonOptions): Promise<number> {
  const plan = await planFor(options);
  process.stdout.write(options.json ? JSON.stringify(planToJson(plan), null, 2) + "\n" : renderPlan(plan));
  return plan.failed.length > 0 || plan.tenants.some((tenant) => tenant.problems.length > 0) ? 1 : 0;
}

async function runCommand(options: RunCommandOptions): Promise<number> {
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  if (!options.yes && !interactive) {
    throw new ConfigError("run modifies exam_alt_score: confirm with --yes (there is no terminal to ask on)");
  }
  const plan = await planFor(options);
  process.stderr.write(renderPlan(plan, { sql: false }) + "(rdw-backfill plan shows every statement)\n\n");
  const runnable = plan.tenants.filter((t) => t.problems.length === 0).map((t) => t.tenant.id);
  if (!options.yes && runnable.length > 0 && !(await confirm(runnable))) {
    process.stderr.write("Nothing done.\n");
    return 1;
  }
  const ui = process.stderr.isTTY ? barProgress(process.stderr) : undefined;
  const progress = ui ?? lineProgress(process.stderr);
  const report = await runPlan(plan, { progress, failFast: Boolean(options.failFast) }).finally(() =>
    ui?.stop(),
  );
  const dir = await writeReportFiles(report, options.reportDir ?? join("rdw-backfill-reports", report.runId));
  if (options.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  else process.stdout.write(renderSummaryTable(report) + "\n");
  process.stderr.write(`Report written to ${dir}/summary.json and summary.md\n`);
  return report.ok ? 0 : 1;
}

async function confirm(tenants: readonly string[]): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(
    `Back-fill exam_alt_score for ${tenants.join(", ")}? Type yes to proceed: `,
  );
  prompt.close();
  return answer.trim().toLowerCase() === "yes";
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name("rdw-backfill")
    .description("Back-fill RDW Alt Score data from each tenant's warehouse into exam_alt_score.")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  withCommonOptions(program.command("plan").description("show, read-only, everything run would do")).action(
    async (options: CommonOptions) => {
      exitCode = await planCommand(options);
    },
  );
  withCommonOptions(program.command("run").description("back-fill the selected tenants"))
    .option("-y, --yes", "do not ask for confirmation (needed without a terminal)")
    .option(
      "--report-dir <dir>",
      "where to write summary.json and summary.md (default ./rdw-backfill-reports/<run id>)",
    )
    .option("--fail-fast", "stop at the first tenant that fails")
    .action(async (options: RunCommandOptions) => {
      exitCode = await runCommand(options);
    });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const code = error instanceof ConfigError ? 2 : 1;
    process.stderr.write(`rdw-backfill: error: ${describeError(error)}\n`);
    return code;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
