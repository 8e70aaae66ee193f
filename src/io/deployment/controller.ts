/** Stops and starts the migrate-olap service around the back-fill. */
export interface MigrateController {
  /** One line for plans and the journal, e.g. the kubectl target. */
  readonly description: string;
  /** The commands stop and restore run, as the plan shows them. */
  readonly commands: { quiesce: string[]; restore: string[] };
  /** Replicas it has now, when that can be known before stopping it. */
  replicas(): Promise<number | undefined>;
  /** Stops it and waits until it is gone; may return the replica count it had, when only stopping tells. */
  stop(): Promise<number | undefined>;
  restore(replicas: number): Promise<void>;
}
