import { createInterface } from "node:readline/promises";
import { type BackfillConfig, resolveConfig } from "../../config/settings.js";
import { ConfigError } from "../../core/errors.js";
import type { ControllerSpec } from "../../io/deployment/open.js";
import { buildPlan, DEFAULT_EXTRACT_STREAMS, type PlanOptions } from "../../plan/build.js";
import type { Plan } from "../../plan/actions.js";
import type { RunJournal } from "../../run/journal.js";
import type { ConfigOptions, KeyOptions } from "../options.js";

export function configFor(options: ConfigOptions) {
  return resolveConfig({
    configDir: options.config,
    tenants: options.tenant,
    overrides: options.set,
    ...(options.since === undefined ? {} : { since: options.since }),
    encryptKeyFile: options.encryptKeyFile,
    encryptKeyDir: options.encryptKeyDir,
  });
}

/** The plan of the command line's options; `more` adds what the command decides (run id, migrate-olap, verify). */
export function planFor(
  options: ConfigOptions,
  more: Partial<PlanOptions> & { migrate?: ControllerSpec | undefined } = {},
  config: BackfillConfig = configFor(options),
): Promise<Plan> {
  const { migrate, ...rest } = more;
  return buildPlan(config, {
    backup: options.backup,
    partBytes: options.partSize * 1024 * 1024,
    extractStreams: options.extractStreams,
    overlapLoad: !options.loadAfterExtract,
    extract: options.extract,
    load: options.load,
    ...(migrate ? { migrate } : {}),
    ...rest,
  });
}

/**
 * The options a journaled run was started with, plus properties given now (e.g. passwords); key
 * options given now replace the run's.
 */
export function optionsFromJournal(
  journal: RunJournal,
  given: KeyOptions & { set: readonly string[] },
): ConfigOptions {
  const command = journal.data.command;
  if (!command.configDir)
    throw new ConfigError(`run ${journal.data.runId}: its journal names no configuration folder`);
  return {
    config: command.configDir,
    tenant: command.tenants,
    set: [...command.overrides, ...given.set],
    since: command.since,
    backup: command.backup,
    partSize: Math.max(1, Math.round(command.partBytes / 1024 / 1024)),
    extractStreams: command.extractStreams ?? DEFAULT_EXTRACT_STREAMS,
    loadAfterExtract: command.loadAfterExtract ?? false,
    extract: command.extract as ConfigOptions["extract"],
    load: command.load as ConfigOptions["load"],
    ...pick("encryptKeyFile", given.encryptKeyFile ?? command.encryptKeyFile),
    ...pick("encryptKeyDir", given.encryptKeyDir ?? command.encryptKeyDir),
  };
}

const pick = <K extends string>(key: K, value: string | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;

/** Asks on the terminal; without one, `--yes` is required (checked by the caller first). */
export async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(`${question} Type yes to proceed: `);
  prompt.close();
  return answer.trim().toLowerCase() === "yes";
}

export function requireYesWithoutTerminal(yes: boolean | undefined, what: string): void {
  if (!yes && !(process.stdin.isTTY && process.stderr.isTTY)) {
    throw new ConfigError(`${what}: confirm with --yes (there is no terminal to ask on)`);
  }
}
