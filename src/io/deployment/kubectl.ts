import { setTimeout as sleep } from "node:timers/promises";
import { RuntimeError } from "../../core/errors.js";
import type {
  DeploymentView,
  LeaseChange,
  MigrateController,
  MigrateLease,
  RunningState,
} from "./controller.js";
import {
  annotationsOf,
  HOLDERS_ANNOTATION,
  leaseFromAnnotations,
  ORIGINAL_REPLICAS_ANNOTATION,
} from "./lease-codec.js";
import { runCommand } from "./run-command.js";

export interface KubectlTarget {
  deployment: string;
  namespace: string | undefined;
  context: string | undefined;
  /** How long to wait for the deployment's pods to be gone. */
  podsTimeoutMs: number;
}

const POLL_MS = 1000;
/** Lease updates that lose a race with another run's are decided again on a fresh read, this often. */
const CONFLICT_ATTEMPTS = 20;

interface DeploymentJson {
  metadata?: { resourceVersion?: string; annotations?: Record<string, string> };
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
}

/** Kubernetes refused a change made on a stale read (optimistic concurrency on resourceVersion). */
const CONFLICT = /\(Conflict\)|the object has been modified/i;

/**
 * The runbook's migrate-olap deployment, stopped and started with `kubectl`. The lease lives in
 * the Deployment's own annotations (`rdw-backfill/original-replicas`, `rdw-backfill/holders`),
 * where every run against the cluster sees it. Each change of the lease is one merge patch that
 * carries the resourceVersion it was decided on, together with the replica count: Kubernetes
 * applies both or, when another run changed the Deployment since, neither.
 */
export class KubectlController implements MigrateController {
  readonly description: string;
  readonly leaseLocation: string;
  readonly commands: { quiesce: string[]; restore: string[]; check: string[] };
  private readonly scope: string[];
  private selector: string | undefined;

  constructor(private readonly target: KubectlTarget) {
    this.scope = [
      ...(target.context ? ["--context", target.context] : []),
      ...(target.namespace ? ["--namespace", target.namespace] : []),
    ];
    const kubectl = (...args: string[]) => ["kubectl", ...this.scope, ...args].join(" ");
    this.description = kubectl("deployment", target.deployment);
    this.leaseLocation = `the annotations ${ORIGINAL_REPLICAS_ANNOTATION} and ${HOLDERS_ANNOTATION} of deployment ${target.deployment}`;
    const read = kubectl("get", "deployment", target.deployment, "-o", "json");
    const patch = (annotations: string, replicas: string) =>
      kubectl(
        "patch",
        "deployment",
        target.deployment,
        "--type=merge",
        "-p",
        `'{"metadata":{"resourceVersion":"<as read>","annotations":{${annotations}}}${replicas}}'`,
      );
    const pods = kubectl("get", "pods", "-l", "<deployment selector>", "-o", "name");
    this.commands = {
      quiesce: [
        `${read}   (its replicas, resourceVersion and the lease: runs that hold it stopped, and the count to restore)`,
        patch(
          `"${ORIGINAL_REPLICAS_ANNOTATION}":"<count as read, or the lease's>","${HOLDERS_ANNOTATION}":"<holders, this run added>"`,
          `,"spec":{"replicas":0}`,
        ) + "   (decided again on a fresh read if another run changed the deployment meanwhile)",
        `${pods}   (until none are left)`,
      ],
      restore: [
        read,
        patch(`"${HOLDERS_ANNOTATION}":"<holders, this run removed>"`, "") + "   (while other runs hold it)",
        patch(
          `"${ORIGINAL_REPLICAS_ANNOTATION}":null,"${HOLDERS_ANNOTATION}":null`,
          `,"spec":{"replicas":<the lease's count>}`,
        ) + "   (the last run to leave)",
      ],
      check: [read, pods],
    };
  }

  async updateLease<T>(
    decide: (view: DeploymentView) => { change?: LeaseChange; result: T },
  ): Promise<{ result: T; lease: MigrateLease | undefined }> {
    for (let attempt = 1; ; attempt++) {
      const deployment = await this.read();
      const view = this.viewOf(deployment);
      const { change, result } = decide(view);
      if (!change) return { result, lease: view.lease };
      const patch = {
        metadata: {
          resourceVersion: deployment.metadata?.resourceVersion,
          annotations: annotationsOf(change.lease),
        },
        ...(change.scaleTo === undefined ? {} : { spec: { replicas: change.scaleTo } }),
      };
      try {
        await this.kubectl(
          "patch",
          "deployment",
          this.target.deployment,
          "--type=merge",
          "-p",
          JSON.stringify(patch),
        );
        return { result, lease: change.lease };
      } catch (error) {
        if (!(error instanceof Error) || !CONFLICT.test(error.message) || attempt >= CONFLICT_ATTEMPTS)
          throw error;
        await sleep(50 + Math.floor(Math.random() * 200));
      }
    }
  }

  async waitStopped(): Promise<void> {
    const deadline = Date.now() + this.target.podsTimeoutMs;
    while ((await this.pods()) > 0) {
      if (Date.now() > deadline) {
        throw new RuntimeError(
          `kubectl: pods of ${this.target.deployment} still running after ${this.target.podsTimeoutMs / 1000} s`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  async running(): Promise<RunningState> {
    const view = this.viewOf(await this.read());
    return { replicas: view.replicas ?? 0, pods: await this.pods() };
  }

  private viewOf(deployment: DeploymentJson): DeploymentView {
    const labels = deployment.spec?.selector?.matchLabels ?? {};
    this.selector = Object.entries(labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(",");
    const replicas = deployment.spec?.replicas;
    if (replicas === undefined || !Number.isInteger(replicas)) {
      throw new RuntimeError(`kubectl: deployment ${this.target.deployment} has no replica count`);
    }
    return {
      lease: leaseFromAnnotations(deployment.metadata?.annotations, `deployment ${this.target.deployment}`),
      replicas,
    };
  }

  private async read(): Promise<DeploymentJson> {
    const text = await this.kubectl("get", "deployment", this.target.deployment, "-o", "json");
    try {
      return JSON.parse(text) as DeploymentJson;
    } catch {
      throw new RuntimeError(`kubectl get deployment ${this.target.deployment} -o json: not JSON`);
    }
  }

  /** migrate-olap's pods, by the deployment's selector (none without one). */
  private async pods(): Promise<number> {
    if (this.selector === undefined) this.viewOf(await this.read());
    if (!this.selector) return 0;
    const names = await this.kubectl("get", "pods", "-l", this.selector, "-o", "name");
    return names.split("\n").filter((line) => line.trim() !== "").length;
  }

  private async kubectl(...args: string[]): Promise<string> {
    return (await runCommand("kubectl", [...this.scope, ...args])).stdout;
  }
}
