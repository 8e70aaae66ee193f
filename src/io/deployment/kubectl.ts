import { setTimeout as sleep } from "node:timers/promises";
import { RuntimeError } from "../../core/errors.js";
import type { MigrateController } from "./controller.js";
import { runCommand } from "./run-command.js";

export interface KubectlTarget {
  deployment: string;
  namespace: string | undefined;
  context: string | undefined;
  /** How long to wait for the deployment's pods to be gone. */
  podsTimeoutMs: number;
}

const POLL_MS = 1000;

/** The runbook's `kubectl scale deployment migrate-olap-deployment --replicas=…`, remembered and waited for. */
export class KubectlController implements MigrateController {
  readonly description: string;
  readonly commands: { quiesce: string[]; restore: string[] };
  private readonly scope: string[];

  constructor(private readonly target: KubectlTarget) {
    this.scope = [
      ...(target.context ? ["--context", target.context] : []),
      ...(target.namespace ? ["--namespace", target.namespace] : []),
    ];
    const kubectl = (...args: string[]) => ["kubectl", ...this.scope, ...args].join(" ");
    this.description = kubectl("deployment", target.deployment);
    this.commands = {
      quiesce: [
        kubectl("get", "deployment", target.deployment, "-o", "jsonpath={.spec.replicas}"),
        kubectl("scale", "deployment", target.deployment, "--replicas=0"),
        kubectl("get", "pods", "-l", "<deployment selector>", "-o", "name") + "   (until none are left)",
      ],
      restore: [kubectl("scale", "deployment", target.deployment, "--replicas=<remembered count>")],
    };
  }

  async replicas(): Promise<number> {
    const text = (
      await this.kubectl("get", "deployment", this.target.deployment, "-o", "jsonpath={.spec.replicas}")
    ).trim();
    const replicas = Number(text);
    if (text === "" || !Number.isInteger(replicas)) {
      throw new RuntimeError(`kubectl: deployment ${this.target.deployment} has no replica count`);
    }
    return replicas;
  }

  async stop(): Promise<undefined> {
    const labels = JSON.parse(
      (await this.kubectl(
        "get",
        "deployment",
        this.target.deployment,
        "-o",
        "jsonpath={.spec.selector.matchLabels}",
      )) || "{}",
    ) as Record<string, string>;
    const selector = Object.entries(labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(",");
    await this.kubectl("scale", "deployment", this.target.deployment, "--replicas=0");
    const deadline = Date.now() + this.target.podsTimeoutMs;
    while (selector && (await this.kubectl("get", "pods", "-l", selector, "-o", "name")).trim() !== "") {
      if (Date.now() > deadline) {
        throw new RuntimeError(
          `kubectl: pods of ${this.target.deployment} still running after ${this.target.podsTimeoutMs / 1000} s`,
        );
      }
      await sleep(POLL_MS);
    }
    return undefined;
  }

  async restore(replicas: number): Promise<void> {
    await this.kubectl("scale", "deployment", this.target.deployment, `--replicas=${replicas}`);
  }

  private async kubectl(...args: string[]): Promise<string> {
    return (await runCommand("kubectl", [...this.scope, ...args])).stdout;
  }
}
