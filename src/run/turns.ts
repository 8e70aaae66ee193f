import type { StepName } from "../plan/actions.js";

interface Turn {
  taken: boolean;
  waiting: (() => void)[];
}

/**
 * One turn at a time per step, for the steps the plan's parallelism lists, first come first
 * served. A tenant never waits for a turn while it holds another (each step's turn is given back
 * before its next step asks), so the waits cannot deadlock; each wait ends when the holder's step
 * ends, which its own bounds (stall timeouts, lock waits) limit.
 */
export class StepTurns {
  private readonly turns = new Map<StepName, Turn>();

  constructor(steps: readonly StepName[]) {
    for (const step of steps) this.turns.set(step, { taken: false, waiting: [] });
  }

  /**
   * Waits for `step`'s turn (none when the step takes no turns) and returns the function that
   * gives it back. `onWait` is called when another tenant has the turn.
   */
  async take(step: StepName, onWait: () => void): Promise<() => void> {
    const turn = this.turns.get(step);
    if (!turn) return () => undefined;
    if (turn.taken) {
      onWait();
      await new Promise<void>((resolve) => turn.waiting.push(resolve));
    }
    turn.taken = true;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      // Handed to the first tenant waiting, the turn stays taken; else it is free.
      const next = turn.waiting.shift();
      turn.taken = next !== undefined;
      next?.();
    };
  }
}
