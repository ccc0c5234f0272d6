import type { CodingStyle } from '../types.js';

// The words a context uses to state each axis value, per context kind. One table
// serves both rendering and parsing (statedCodingAxes), so a test can check that a
// stated context names the true style and never the opposite one.

export interface PhraseSet {
  /** Clauses of a one-line team profile. */
  profile: readonly string[];
  /** Whole bullet notes. */
  memory: readonly string[];
  /** Things the user once said, quoted. */
  correction: readonly string[];
}

type PhraseTable = { [A in keyof CodingStyle]: Record<CodingStyle[A], PhraseSet> };

export const codingContextPhrases: PhraseTable = {
  role: {
    architect: {
      profile: ['you are the architect: design and interfaces, no patches', 'you act as the architect, giving designs and interfaces, never patches'],
      memory: ['The team wants designs and interfaces from the assistant, not patches.', 'Assistant role: architect (design first, no patches).'],
      correction: ["Don't patch it; tell me how you would design it.", 'No patches please, I need the design and the interfaces.'],
    },
    fixer: {
      profile: ['you are the fixer: minimal patches as diffs', 'you act as the fixer, sending small diffs and nothing else'],
      memory: ['The team wants minimal diffs from the assistant.', 'Assistant role: fixer (one small diff per bug).'],
      correction: ['Only send the minimal diff, please.', 'Just the patch as a diff, nothing more.'],
    },
    techlead: {
      profile: ['you are the tech lead: review, plan, delegate', 'you act as the tech lead, with reviews, plans and delegation'],
      memory: ['The assistant leads the team: a review, a plan, and tasks for teammates.', 'Assistant role: tech lead (review, plan, delegate).'],
      correction: ['Review it, give me a plan and hand the tasks to the team.', 'I need a review and a plan, and tell the team who does what.'],
    },
    machine: {
      profile: ['you are a coding machine: code only, no prose', 'you act as a coding machine, answering with bare code'],
      memory: ['The user wants code only, no explanations.', 'Assistant role: coding machine (bare code, no words).'],
      correction: ['Just give me the code, no explanations.', 'Code only, please. No prose.'],
    },
  },
  naming: {
    camel: {
      profile: ['camelCase names'],
      memory: ['Names are written in camelCase.', 'Identifiers use camelCase.'],
      correction: ['Use camelCase for names.', 'We write names in camelCase here.'],
    },
    snake: {
      profile: ['snake_case names'],
      memory: ['Names are written in snake_case.', 'Identifiers use snake_case.'],
      correction: ['Use snake_case for names.', 'We write names in snake_case here.'],
    },
  },
  semicolons: {
    semicolons: {
      profile: ['a semicolon after every statement', 'semicolons at line ends'],
      memory: ['Every statement ends with a semicolon.', 'Semicolons are required at line ends.'],
      correction: ['End every statement with a semicolon.', 'You forgot the semicolons again, always add them.'],
    },
    none: {
      profile: ['no semicolons', 'no trailing semicolons'],
      memory: ['Statements never end with a semicolon.', 'The codebase has no semicolons.'],
      correction: ['Drop the semicolons.', 'We never use semicolons here.'],
    },
  },
  comments: {
    dense: {
      profile: ['dense comments', 'a comment above every step'],
      memory: ['Code is commented densely, one comment per step.', 'Every step gets a comment.'],
      correction: ['Please comment each step.', 'Add a comment above every line of logic.'],
    },
    sparse: {
      profile: ['sparse comments', 'hardly any comments'],
      memory: ['Comments are sparse; the code speaks for itself.', 'Almost no comments in the code.'],
      correction: ['Too many comments, keep the code clean.', 'Skip the comments.'],
    },
  },
};
