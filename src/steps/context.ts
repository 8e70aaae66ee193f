import type { DatabaseLogin } from "../config/settings.js";
import type { MysqlStatement } from "../core/statement.js";
import { MysqlSession } from "../io/db/mysql-session.js";
import type { MigrateController } from "../io/deployment/controller.js";
import { PgSession } from "../io/db/pg-session.js";
import type { StagingStore } from "../io/staging/store.js";
import type { Writable } from "node:stream";
import type { SessionSetup, StepName, TenantPlan } from "../plan/actions.js";
import type { StepProgress } from "./progress.js";
import type { ExtractResult, LoadResult, StepResults } from "./results.js";

/** Also receives every staged chunk as it is written: the load's COPY, when it overlaps the extract. */
export interface ExtractSink {
  stream: Writable;
  /** Settles when the receiver is done or has failed; a failure stops the extract. */
  settled: Promise<unknown>;
}

export interface OverlappedLoad {
  /** For the extract: the COPY's input. */
  sink: ExtractSink;
  /** Ends the COPY once the extract is done; the load step checks its count. */
  finish(extracted: ExtractResult): Promise<LoadResult>;
  /** Abandons the COPY (the extract failed): the staging table keeps nothing. */
  abort(): void;
}

/** Who holds a tenant lock. */
export interface LockOwner {
  runId: string;
  host: string;
  pid: number;
}

/** Points where a crash test may stop the process (see run/pause-points). */
export type PausePoint = "extract-start" | "extract" | "load" | "merge";

/** Everything a step may use; the runner builds one per tenant attempt. */
export interface StepContext {
  tenant: TenantPlan;
  sessions: TenantSessions;
  staging: StagingStore;
  progress(step: StepName, expectedRows: number | undefined): StepProgress;
  /** Results so far: the journaled ones of earlier attempts and this attempt's. */
  results: StepResults;
  /** What one step leaves the next within this attempt: the COPY fed alongside the extract. */
  attempt: { overlapped?: OverlappedLoad; locked?: boolean };
  owner: LockOwner;
  takeOverLock: boolean;
  /** migrate-olap, when the run holds it stopped: the replace checks that it still is. */
  migrate?: Pick<MigrateController, "description" | "running">;
  warn(message: string): void;
  pause(point: PausePoint): Promise<void>;
  /** How long a stream, a COPY or an upload may make no progress before the attempt fails. */
  stallMs: number;
}

/**
 * The sessions of one tenant attempt, opened when a step first needs them, each with the
 * statements the plan lists for its kind, and all closed by the runner at the end.
 */
export class TenantSessions {
  private main: Promise<PgSession> | undefined;
  /** Every session asked for, still opening or open: closeAll waits for those still opening too. */
  private readonly opened: Promise<{ close(): Promise<void> }>[] = [];

  constructor(
    private readonly tenantId: string,
    private readonly logins: {
      warehouse: DatabaseLogin;
      warehouseReader: DatabaseLogin;
      olap: DatabaseLogin;
    },
    private readonly setup: SessionSetup,
  ) {}

  /** The session that takes the lock and carries the load and the merge (Redshift's temporary tables live in it). */
  olap(): Promise<PgSession> {
    this.main ??= this.track(
      PgSession.open(this.logins.olap, `tenant ${this.tenantId} OLAP`, this.setup.olap),
    );
    return this.main;
  }

  /** Another session, for reads beside the main one. */
  olapReader(): Promise<PgSession> {
    return this.track(
      PgSession.open(this.logins.olap, `tenant ${this.tenantId} OLAP`, this.setup.olapReader),
    );
  }

  /** Warehouse sessions, read-only unless other statements are given (verify's). */
  warehouse(setup: readonly MysqlStatement[] = this.setup.warehouse): Promise<MysqlSession> {
    return this.track(MysqlSession.open(this.logins.warehouse, `tenant ${this.tenantId} warehouse`, setup));
  }

  /** A read-only warehouse session for verify: on the reader endpoint when one is configured. */
  warehouseReader(): Promise<MysqlSession> {
    return this.track(
      MysqlSession.open(
        this.logins.warehouseReader,
        `tenant ${this.tenantId} warehouse reader`,
        this.setup.warehouse,
      ),
    );
  }

  async closeAll(): Promise<void> {
    // A session that was still connecting when its step failed is closed once it connects.
    const sessions = await Promise.allSettled(this.opened.splice(0).reverse());
    for (const session of sessions) if (session.status === "fulfilled") await session.value.close();
    this.main = undefined;
  }

  private track<T extends { close(): Promise<void> }>(opening: Promise<T>): Promise<T> {
    this.opened.push(opening);
    return opening;
  }
}
