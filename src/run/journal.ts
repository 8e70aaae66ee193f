import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { ConfigError, describeError } from "../core/errors.js";
import type { OlapDialectName } from "../dialects/choose.js";
import { openStaging } from "../io/staging/open.js";
import type { AltScoreName, StepName } from "../plan/actions.js";
import { journalCopyUri } from "../plan/staging-location.js";
import type { MigrateJournal, MigrateRecord } from "../steps/quiesce.js";
import { RUN_ID } from "../plan/run-id.js";
import { parseJournal } from "./journal-shape.js";
import type { ExtractResult, FailureDetails, MergeResult, StepResults } from "../steps/results.js";

export type { MigrateJournal } from "../steps/quiesce.js";

/** How far a tenant got; each state is durable (committed or stored) before it is written. */
export type TenantState = "pending" | "backed-up" | "extracted" | "merged" | "verified";

export interface TenantJournal {
  state: TenantState;
  stagingUri: string;
  olapSchema: string;
  /** The plan's modes, for the report. */
  extractMode?: string;
  loadMode?: string;
  /** The alt scores' names as the warehouse gave them at planning, for the report (absent in older journals: it shows the ids). */
  altScores?: AltScoreName[];
  /** The OLAP dialect the run used; rollback and cleanup speak it (absent in older journals: PostgreSQL's). */
  olapDialect?: OlapDialectName;
  /** The backup table, once the backup is complete (rollback and cleanup read it). */
  backupTable?: string;
  /** The results of the durable steps; a resumed run does not redo them. */
  results: StepResults;
  attempts: number;
  retries: { at: string; error: string }[];
  /** What the steps warned about (an ANALYZE that failed after the COMMIT, a lock taken over, no charts); absent in older journals. */
  warnings?: string[];
  /** The steps of the last attempt, with how long each took. */
  steps: { step: StepName; durationMs: number }[];
  /** From the first attempt's start to the last attempt's end. */
  durationMs?: number;
  /** The last failure; the state stays at the last durable checkpoint. */
  error?: string;
  /** What the report shows of the last failure beyond its message. */
  failure?: FailureDetails;
  /** Why the tenant was not run (e.g. an earlier tenant failed with --fail-fast). */
  skipped?: string;
  rolledBackAt?: string;
}

/** What is needed to run the same command again; secrets are never written. */
export interface RunCommand {
  configDir: string;
  tenants: string[];
  /** `--set` values, with those that look like secrets left out. */
  overrides: string[];
  since: string;
  backup: boolean;
  extract: string;
  load: string;
  partBytes: number;
  /** `--encrypt-key-file` and `--encrypt-key-dir`, absolute: where the keys are, never a key. */
  encryptKeyFile?: string;
  encryptKeyDir?: string;
  /** Absent in journals of runs before these options existed: the defaults apply. */
  extractStreams?: number;
  loadAfterExtract?: boolean;
}

/** `stopped`: --stop-after passed with tenants not started; `resume` finishes them. */
export type RunStatus = "running" | "succeeded" | "failed" | "interrupted" | "stopped";

export interface JournalData {
  runId: string;
  createdAt: string;
  updatedAt: string;
  status: RunStatus;
  host: string;
  pid: number;
  command: RunCommand;
  /** Where the copy of this journal lives, next to the staged files. */
  stagingCopy: string;
  migrate?: MigrateJournal;
  tenants: Record<string, TenantJournal>;
  /** Backups and staged files removed by `cleanup`. */
  cleanedAt?: string;
}

const SECRET_KEY = /(password|secret|token|credential|key)$/i;

export function journalCommand(command: RunCommand): RunCommand {
  return {
    ...command,
    overrides: command.overrides.filter((assignment) => !SECRET_KEY.test(assignment.split("=")[0]!.trim())),
  };
}

/**
 * The record of one run: kept in `<journal dir>/<run id>/journal.json` and copied to
 * `<uri-root>/MigrateAdHoc/rdw-backfill/<run id>/journal.json`, so that it survives the
 * operator's machine. Every save replaces both atomically enough for a resume to trust.
 */
export class RunJournal implements MigrateRecord {
  private constructor(
    readonly dir: string,
    readonly data: JournalData,
  ) {}

  /** The save waiting for its turn (joined by later changes), and the last one begun. */
  private queued: Promise<void> | undefined;
  private lastSave: Promise<void> = Promise.resolve();

  static async create(
    journalDir: string,
    runId: string,
    uriRoot: string,
    command: RunCommand,
    tenants: Record<
      string,
      Pick<
        TenantJournal,
        "stagingUri" | "olapSchema" | "extractMode" | "loadMode" | "olapDialect" | "altScores"
      >
    >,
  ): Promise<RunJournal> {
    const now = new Date().toISOString();
    const journal = new RunJournal(join(journalDir, runId), {
      runId,
      createdAt: now,
      updatedAt: now,
      status: "running",
      host: hostname(),
      pid: process.pid,
      command: journalCommand(command),
      stagingCopy: journalCopyUri(uriRoot, runId),
      tenants: Object.fromEntries(
        Object.entries(tenants).map(([id, tenant]) => [
          id,
          { ...tenant, state: "pending", results: {}, attempts: 0, retries: [], steps: [] },
        ]),
      ),
    });
    await journal.save();
    return journal;
  }

  /**
   * The run's journal, checked (`journal-shape.ts`): a file that does not parse or has the wrong
   * shape is refused with one line naming it, before anything is touched.
   */
  static async load(journalDir: string, runId: string): Promise<RunJournal> {
    const journal = await RunJournal.read(journalDir, runId);
    if (!journal) throw new ConfigError(`run ${runId}: no journal in ${join(journalDir, runId)}`);
    return journal;
  }

  /** As `load`, but undefined when the run's folder holds no journal. */
  private static async read(journalDir: string, runId: string): Promise<RunJournal | undefined> {
    if (!RUN_ID.test(runId))
      throw new ConfigError(`run ${JSON.stringify(runId)}: not a run id (YYYYMMDD_HHMMSS_xxxx)`);
    const dir = join(journalDir, runId);
    const file = join(dir, "journal.json");
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return undefined;
      throw new ConfigError(`${file}: cannot read the journal (${describeError(error)})`);
    }
    const data = parseJournal(text, file, runId) as JournalData;
    for (const tenant of Object.values(data.tenants)) upgradeTenantJournal(tenant);
    return new RunJournal(dir, data);
  }

  /**
   * All runs in the journal folder, oldest first. A run's folder whose journal is invalid is
   * refused, not skipped: it could be the run that left migrate-olap stopped.
   */
  static async list(journalDir: string): Promise<JournalData[]> {
    let names: string[];
    try {
      names = await readdir(journalDir);
    } catch {
      return [];
    }
    const runs = await Promise.all(
      names.filter((name) => RUN_ID.test(name)).map((name) => RunJournal.read(journalDir, name)),
    );
    return runs
      .filter((run): run is RunJournal => run !== undefined)
      .map((run) => run.data)
      .sort((a, b) => a.runId.localeCompare(b.runId));
  }

  get runId(): string {
    return this.data.runId;
  }

  get migrate(): MigrateJournal | undefined {
    return this.data.migrate;
  }

  async saveMigrate(change: (migrate: MigrateJournal | undefined) => MigrateJournal): Promise<void> {
    await this.update((data) => (data.migrate = change(data.migrate)));
  }

  tenant(id: string): TenantJournal {
    const tenant = this.data.tenants[id];
    if (!tenant) throw new ConfigError(`run ${this.data.runId} has no tenant ${id}`);
    return tenant;
  }

  /** This process now carries the run (after a resume). */
  async adopt(): Promise<void> {
    Object.assign(this.data, { host: hostname(), pid: process.pid, status: "running" });
    await this.save();
  }

  async update(change: (data: JournalData) => void): Promise<void> {
    change(this.data);
    await this.save();
  }

  /**
   * Saves are serialized (tenants run at once share the journal): each writes the data as it is
   * when its turn comes, so a caller may join a save that is queued but not yet begun, which
   * will include its change. A failed save is the caller's to handle; the next one still runs.
   */
  save(): Promise<void> {
    if (!this.queued) {
      const queued = this.lastSave.then(() => {
        this.queued = undefined; // changes from here on need the next save
        return this.write();
      });
      this.queued = queued;
      this.lastSave = queued.catch(() => undefined);
    }
    return this.queued;
  }

  private async write(): Promise<void> {
    this.data.updatedAt = new Date().toISOString();
    const text = JSON.stringify(this.data, null, 2) + "\n";
    await mkdir(this.dir, { recursive: true });
    const temporary = join(this.dir, `journal.json.${process.pid}.tmp`);
    await writeFile(temporary, text);
    await rename(temporary, join(this.dir, "journal.json"));
    try {
      await openStaging(this.data.stagingCopy).write("journal.json", Readable.from([text]));
    } catch (error) {
      // The local journal is the one a resume reads; the staged copy is for the record.
      process.stderr.write(
        `rdw-backfill: warning: journal copy to ${this.data.stagingCopy} failed: ${describeError(error)}\n`,
      );
    }
  }
}

/** What journals written before step results were kept by step name (0.1.0 and earlier) hold. */
interface EarlierTenantJournal {
  extract?: ExtractResult;
  load?: { rowsCopied: number };
  merge?: Omit<MergeResult, "rowsCopied">;
}

/** Brings a tenant entry of an earlier journal into today's form, so that a resume skips what it did. */
function upgradeTenantJournal(tenant: TenantJournal & EarlierTenantJournal): void {
  if (tenant.results) return;
  const { extract, load, merge } = tenant;
  tenant.results = {
    ...(tenant.backupTable ? { backup: { table: tenant.backupTable } } : {}),
    ...(extract ? { extract } : {}),
    ...(merge && load ? { merge: { ...merge, rowsCopied: load.rowsCopied } } : {}),
  };
  tenant.steps ??= [];
  delete tenant.extract;
  delete tenant.load;
  delete tenant.merge;
}
