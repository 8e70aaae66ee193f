/** One run that needs migrate-olap stopped: a holder of the lease. */
export interface LeaseHolder {
  runId: string;
  host: string;
  pid: number;
  /** When it joined the lease (ISO time). */
  since: string;
}

/**
 * The deployment-wide lease on migrate-olap's stop: the replica count it had before the first
 * run stopped it, and every run that needs it stopped. The last holder to leave restores the count.
 */
export interface MigrateLease {
  originalReplicas: number;
  holders: LeaseHolder[];
}

/** The lease and the deployment as read at one moment. */
export interface DeploymentView {
  /** Absent when no run holds migrate-olap stopped. */
  lease: MigrateLease | undefined;
  /** The replicas the deployment asks for now; undefined when the controller cannot tell (custom commands). */
  replicas: number | undefined;
}

/** What one atomic step writes: the new lease (undefined: removed) and, with it, a replica count. */
export interface LeaseChange {
  lease: MigrateLease | undefined;
  /** 0 stops migrate-olap; a positive count starts it again. Absent: the replicas are left as they are. */
  scaleTo?: number;
  /**
   * The first holder did not know the count (custom commands): the count the quiesce command
   * prints, if it prints one, becomes the lease's original count.
   */
  originalFromStop?: boolean;
}

/** Whether migrate-olap runs now, before a replace. */
export interface RunningState {
  replicas: number;
  pods: number;
}

/** Stops and starts the migrate-olap service around the back-fill, under a lease shared by concurrent runs. */
export interface MigrateController {
  /** One line for plans and the journal, e.g. the kubectl target. */
  readonly description: string;
  /** Where the lease lives, as the operator can look at it. */
  readonly leaseLocation: string;
  /** The commands joining, leaving and the check before each replace run, as the plan shows them. */
  readonly commands: { quiesce: string[]; restore: string[]; check: string[] };
  /**
   * Reads the lease and the deployment, lets `decide` choose a change, and applies it in one
   * atomic step with respect to other runs (a change decided on a view another run has changed
   * since is decided again on a fresh view). Returns the decision's result and the lease as
   * written (or as read, without a change).
   */
  updateLease<T>(
    decide: (view: DeploymentView) => { change?: LeaseChange; result: T },
  ): Promise<{ result: T; lease: MigrateLease | undefined }>;
  /** Waits until migrate-olap's pods are gone. */
  waitStopped(): Promise<void>;
  /** Whether it runs now; undefined when the controller cannot tell (custom commands). */
  running(): Promise<RunningState | undefined>;
}
