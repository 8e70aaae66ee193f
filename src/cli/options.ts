import { Command, Option } from "commander";
import { parseStopAfter } from "../config/stop-after.js";
import { ConfigError } from "../core/errors.js";
import type { ExtractMode, LoadMode, ModeRequest } from "../dialects/choose.js";
import { DEFAULT_PODS_TIMEOUT_MS, type ControllerSpec, leaseFileIn } from "../io/deployment/open.js";
import { DEFAULT_EXTRACT_STREAMS, DEFAULT_MIGRATE_WAIT_MS, DEFAULT_PART_BYTES } from "../plan/build.js";
import { SERVER_SIDE_PARALLEL } from "../plan/parallelism.js";
import { DEFAULT_ATTEMPTS, DEFAULT_JOURNAL_DIR, DEFAULT_STALL_TIMEOUT_MS } from "../run/execute.js";

/** Where the key of `{cipher}` values is, besides `ENCRYPT_KEY` and `encrypt.key`. */
export interface KeyOptions {
  encryptKeyFile?: string;
  encryptKeyDir?: string;
}

/** Which configuration, tenants and window a command reads (and how many ranges it reads at once). */
export interface SelectionOptions extends KeyOptions {
  config: string;
  tenant: string[];
  set: string[];
  since?: string;
  extractStreams: number;
}

/** The selection, and how `plan` and `run` move its rows. */
export interface ConfigOptions extends SelectionOptions {
  backup: boolean;
  partSize: number;
  loadAfterExtract: boolean;
  extract: ModeRequest<ExtractMode>;
  load: ModeRequest<LoadMode>;
}

/** Which migrate-olap, and how it is stopped and started. */
export interface MigrateTargetOptions {
  deployment: string;
  namespace?: string;
  kubeContext?: string;
  quiesceCmd?: string;
  restoreCmd?: string;
}

export interface MigrateOptions extends MigrateTargetOptions {
  quiesce: boolean;
  podsTimeout: number;
  /** Seconds a replace waits for a migrate-olap someone started to be stopped again. */
  migrateWait: number;
}

export interface JournalOptions {
  journalDir: string;
}

export interface RunOptions {
  /** false with --no-verify */
  verify: boolean;
  yes?: boolean;
  reportDir?: string;
  failFast?: boolean;
  takeOverLock?: boolean;
  attempts: number;
  json?: boolean;
  /** --stop-after, parsed. */
  stopAfter?: Date;
  /** --stall-timeout, in seconds. */
  stallTimeout: number;
  /** --parallel: tenants at once (default: from the plan's modes). */
  parallel?: number;
}

const collect = (value: string, previous: string[]) => [...previous, value];

const wholeNumber = (flag: string, minimum: number) => (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < minimum)
    throw new ConfigError(`${flag} ${value}: expected a whole number ≥ ${minimum}`);
  return number;
};

export function withKeyOptions(command: Command): Command {
  return command
    .option(
      "--encrypt-key-file <file>",
      "file holding the key of {cipher} values (default: ENCRYPT_KEY, or the property encrypt.key)",
    )
    .option(
      "--encrypt-key-dir <dir>",
      "the config server's key store as <alias>.pem files (RSA), for {cipher}{key:alias} values",
    );
}

/** The options of `SelectionOptions`: every command that reads a configuration takes them. */
export function withSelectionOptions(command: Command): Command {
  return withKeyOptions(selectionOptions(command));
}

function selectionOptions(command: Command): Command {
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
    .addOption(
      new Option(
        "--extract-streams <n>",
        "streaming extract: ranges of ids read at once, each on its own warehouse session",
      )
        .default(DEFAULT_EXTRACT_STREAMS)
        .argParser(wholeNumber("--extract-streams", 1)),
    );
}

/**
 * The options of `ConfigOptions`: the selection, and how the rows move. `verify` moves none, so
 * it does not take these (an option it would ignore is refused instead).
 */
export function withConfigOptions(command: Command): Command {
  const configured = selectionOptions(command)
    .option("--no-backup", "do not copy exam_alt_score to exam_alt_score_backup_<run id> first")
    .addOption(
      new Option("--part-size <MiB>", "largest size of each streamed part")
        .default(DEFAULT_PART_BYTES / 1024 / 1024)
        .argParser(wholeNumber("--part-size", 1)),
    )
    .option(
      "--load-after-extract",
      "copy into PostgreSQL from the staged parts once the extract is done, instead of as it streams",
      false,
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
    );
  return withKeyOptions(configured);
}

export function withMigrateTargetOptions(command: Command): Command {
  return command
    .option("--deployment <name>", "the migrate-olap Kubernetes deployment", "migrate-olap-deployment")
    .option("--namespace <namespace>", "its Kubernetes namespace (default: kubectl's)")
    .option("--kube-context <context>", "kubectl context (default: kubectl's)")
    .option(
      "--quiesce-cmd <command>",
      "shell command that stops migrate-olap instead of kubectl (may print its replica count)",
    )
    .option("--restore-cmd <command>", "shell command that starts it again; gets RDW_BACKFILL_REPLICAS");
}

export function withMigrateOptions(command: Command): Command {
  return withMigrateTargetOptions(
    command.option("--no-quiesce", "leave migrate-olap alone (it must not run during the back-fill)"),
  )
    .addOption(
      new Option("--pods-timeout <seconds>", "how long to wait for migrate-olap's pods to be gone")
        .default(DEFAULT_PODS_TIMEOUT_MS / 1000)
        .argParser(wholeNumber("--pods-timeout", 1)),
    )
    .addOption(
      new Option(
        "--migrate-wait <seconds>",
        "before each replace, how long to wait for a migrate-olap someone started to be stopped again",
      )
        .default(DEFAULT_MIGRATE_WAIT_MS / 1000)
        .argParser(wholeNumber("--migrate-wait", 0)),
    );
}

export function withJournalOptions(command: Command): Command {
  return command.option("--journal-dir <dir>", "where run journals are kept", DEFAULT_JOURNAL_DIR);
}

/** `plan` shows the parallelism `run` would use; `run` and `resume` use it. */
export function withParallelOption(command: Command): Command {
  return command.addOption(
    new Option(
      "--parallel <n>",
      `tenants worked on at once (default: 1 when any tenant streams through this process, ${SERVER_SIDE_PARALLEL} when all run server-side)`,
    ).argParser(wholeNumber("--parallel", 1)),
  );
}

export function withRunOptions(command: Command): Command {
  return withParallelOption(command)
    .option("-y, --yes", "do not ask for confirmation (needed without a terminal)")
    .option(
      "--report-dir <dir>",
      "where to write summary.json and summary.md (default ./rdw-backfill-reports/<run id>)",
    )
    .option(
      "--fail-fast",
      "after the first tenant that fails, start no other (those running finish their attempt)",
    )
    .option("--no-verify", "do not run the verify checks on the back-filled tenants at the end")
    .option(
      "--take-over-lock",
      "take over a tenant lock held by another run that is not provably dead (not migrate-olap's lease: see restore-migrate)",
    )
    .addOption(
      new Option("--attempts <n>", "attempts per tenant when failures are transient")
        .default(DEFAULT_ATTEMPTS)
        .argParser(wholeNumber("--attempts", 1)),
    )
    .addOption(
      new Option(
        "--stall-timeout <s>",
        "fail an attempt when a stream, a COPY or an upload makes no progress for this long (it is retried)",
      )
        .default(DEFAULT_STALL_TIMEOUT_MS / 1000)
        .argParser(wholeNumber("--stall-timeout", 1)),
    )
    .addOption(
      new Option(
        "--stop-after <time>",
        "start no tenant after this time (HH:MM local, or a date and time with its zone); resume does the rest",
      ).argParser((value) => parseStopAfter(value)),
    )
    .option("--json", "print the summary as JSON on stdout");
}

export function controllerSpec(options: MigrateOptions & JournalOptions): ControllerSpec | undefined {
  if (!options.quiesce) return undefined;
  return targetSpec(options);
}

/** The migrate-olap the options name; with custom commands its lease is a file in the journal folder. */
export function targetSpec(options: MigrateTargetOptions & JournalOptions): ControllerSpec {
  if (options.quiesceCmd || options.restoreCmd) {
    if (!options.quiesceCmd || !options.restoreCmd)
      throw new ConfigError("--quiesce-cmd and --restore-cmd go together");
    return {
      kind: "custom",
      quiesce: options.quiesceCmd,
      restore: options.restoreCmd,
      leaseFile: leaseFileIn(options.journalDir),
    };
  }
  return {
    kind: "kubectl",
    deployment: options.deployment,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.kubeContext ? { context: options.kubeContext } : {}),
  };
}
