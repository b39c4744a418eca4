/**
 * Lets a stand-in hold its answers (`hold`) until the test lets them go (`release`), so a test can see a sink's
 * close() wait for sends still in flight. Answers given while not held go out at once.
 */
export interface AnswerGate {
  hold(): void;
  release(): void;
  answer(send: () => void): void;
}

export function createAnswerGate(): AnswerGate {
  let held: (() => void)[] | undefined;
  return {
    hold: () => {
      held = [];
    },
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const send of waiting) send();
    },
    answer: (send) => {
      if (held) held.push(send);
      else send();
    },
  };
}
