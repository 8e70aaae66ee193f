import type { StepName } from "../plan/actions.js";
import { startRanks } from "../plan/parallelism.js";

interface Waiting {
  rank: number;
  resume: () => void;
}

interface Turn {
  taken: boolean;
  waiting: Waiting[];
}

/**
 * One turn at a time per step, for the steps the plan's parallelism lists. A free turn goes to
 * whoever asks; when it is given back, to the tenant waiting that comes first in the plan's start
 * order (the largest first), and among equals to the first to ask. A tenant never waits for a
 * turn while it holds another (each step's turn is given back before its next step asks), so the
 * waits cannot deadlock; each wait ends when the holder's step ends, which its own bounds (stall
 * timeouts, lock waits) limit, and as every tenant asks for a step's turn a bounded number of
 * times (once per attempt), no tenant waits behind others for ever.
 */
export class StepTurns {
  private readonly turns = new Map<StepName, Turn>();
  private readonly rankOf: (tenantId: string) => number;

  constructor(steps: readonly StepName[], startOrder: readonly string[] = []) {
    for (const step of steps) this.turns.set(step, { taken: false, waiting: [] });
    this.rankOf = startRanks(startOrder);
  }

  /**
   * Waits for `step`'s turn for tenant `tenantId` (none when the step takes no turns) and returns
   * the function that gives it back. `onWait` is called when another tenant has the turn.
   */
  async take(step: StepName, tenantId: string, onWait: () => void): Promise<() => void> {
    const turn = this.turns.get(step);
    if (!turn) return () => undefined;
    if (turn.taken) {
      onWait();
      const rank = this.rankOf(tenantId);
      await new Promise<void>((resume) => {
        // Behind every waiting tenant of the same or an earlier rank: among equals, first come first served.
        const behind = turn.waiting.findIndex((waiting) => waiting.rank > rank);
        turn.waiting.splice(behind < 0 ? turn.waiting.length : behind, 0, { rank, resume });
      });
    }
    turn.taken = true;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      // Handed to the first tenant waiting, the turn stays taken; else it is free.
      const next = turn.waiting.shift();
      turn.taken = next !== undefined;
      next?.resume();
    };
  }
}
