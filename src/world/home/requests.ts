import type { Random } from '../../tensor/random.js';
import { dishVerb, factById, isPluralDish, knowledgeBase, knowledgeTables, sentenceSubject, siblingFacts, type Fact } from '../knowledgeBase.js';
import { fill, pick, shuffled } from '../randomChoice.js';
import { emotionalSituations, smallTalk, type ConversationEntry } from './conversationTables.js';
import type { HomeRequest } from './replyContent.js';

// The five kinds of home-assistant request, each producing the user's text and
// the content of a correct reply. Reminders, recipes and small talk reuse the
// knowledge base's names, so the world stays one consistent place.

export const homeTasks = ['reminder', 'recipe', 'fact', 'smalltalk', 'emotional'] as const;
export type HomeTask = (typeof homeTasks)[number];

export function isHomeTask(task: string): task is HomeTask {
  return (homeTasks as readonly string[]).includes(task);
}

const { people, recipes } = knowledgeTables;
const firstName = (name: string): string => name.split(' ')[0];

const chores: readonly string[] = [
  'water the ferns', 'take the bins out', 'bring the washing in', 'start the dishwasher', 'take my vitamins',
  'book the boiler service', 'check on the oven', 'move the car', 'pay the window cleaner', 'ring Tobias Flint about the tap',
  'return my books to Brindlemoor Library', 'pick up bread from Thimble Bakery', 'collect the parcel from Gorseby Post Office',
  ...people.slice(0, 8).map((p) => `call ${firstName(p.name)}`),
  ...people.slice(8, 14).map((p) => `buy a card for ${firstName(p.name)}`),
];
const reminderTimes: readonly string[] = ['6 pm', '7:30 am', '8 am', '9 pm', '5:15 pm', 'noon', '4:30 pm', '10 am', '7 pm', '8:45 am', '3 pm', '6:40 am'];
const reminderRequests: readonly string[] = [
  'Remind me to {chore} at {time}.', 'Can you remind me to {chore} at {time}?', 'Set a reminder to {chore} at {time}.',
  'Please remind me at {time} to {chore}.', 'I need to {chore} at {time}, remind me.',
];
const reminderAnswers: readonly string[] = [
  'Your reminder to {chore} is set for {time}.', 'I am going to remind you to {chore} at {time}.',
  'I will remind you to {chore} at {time}.', 'A reminder to {chore} is now set for {time}.',
];
const reminderReasons: readonly string[] = [
  'It is set for {time} because that is the time you asked for.', 'A reminder is useful because small jobs are easy to forget.',
  'That time works since you are usually home by then.', 'It is on the kitchen speaker because you hear it from every room.',
];
const reminderExtras: readonly string[] = [
  'Pebble, the kitchen speaker, will chime when it is time.', 'You can ask me to move it whenever you like.',
  'It can repeat tomorrow at the same time if you want.', 'The reminder also shows on the hallway screen.',
];

function reminder(rng: Random): HomeRequest {
  const values = { chore: pick(rng, chores), time: pick(rng, reminderTimes) };
  const own = (templates: readonly string[]): string[] => templates.map((t) => fill(t, values));
  return {
    task: 'reminder',
    text: fill(pick(rng, reminderRequests), values),
    content: { answer: fill(pick(rng, reminderAnswers), values), reasons: own(reminderReasons), extras: own(reminderExtras), emotional: false },
    factId: null,
  };
}

const recipeRequests: readonly string[] = ['How do I make {dish}?', 'What do I need for {dish}?', 'Can you give me the recipe for {dish}?', 'I want to cook {dish} tonight, what goes in it?'];

function recipe(rng: Random): HomeRequest {
  const r = pick(rng, recipes);
  const subject = sentenceSubject(r.name);
  const [needs, it] = isPluralDish(r.name) ? ['need', 'they'] : ['needs', 'it'];
  return {
    task: 'recipe',
    text: fill(pick(rng, recipeRequests), { dish: r.name }),
    content: {
      answer: `${subject} ${needs} ${r.ingredients}, and ${it} ${dishVerb(r)} for ${r.time}.`,
      reasons: [
        `It is best to add ${r.touch} at the end because it lifts the flavour.`,
        `The timing of ${r.time} matters since the dish dries out if left longer.`,
        `It is best to start with the ${r.main} because it needs the longest.`,
      ],
      extras: [`The secret touch is ${r.touch}.`, 'It serves four, and leftovers keep for two days in the fridge.', `Oddleigh Market sells good ${r.main} on Wednesdays.`],
      emotional: false,
    },
    factId: null,
  };
}

const factReasons: Record<string, readonly string[]> = {
  place: ['It is worth checking because hours can change on holidays.', 'This matters since a closed door wastes a trip.'],
  person: ['It is good to remember because people like being remembered.', 'This matters since neighbours in Brindlemoor all know each other.'],
  recipe: ['It is worth getting right because small changes alter the dish.', 'This matters since the recipe comes from the Moorland Gazette.'],
  household: ['This matters because the house runs on these settings.', 'It is worth knowing since the whole family uses it.'],
  town: ['It is worth knowing because it comes up often around town.', 'This matters since it is part of local life.'],
};

function factKind(f: Fact): string {
  return f.id.split('-')[0];
}

function factQuestion(rng: Random, f: Fact): HomeRequest {
  const siblings = shuffled(rng, siblingFacts(f)).slice(0, 2).map((s) => s.statement);
  return {
    task: 'fact',
    text: pick(rng, f.questions),
    content: { answer: f.statement, reasons: factReasons[factKind(f)], extras: siblings, emotional: false },
    factId: f.id,
  };
}

function conversation(rng: Random, task: 'smalltalk' | 'emotional', entries: readonly ConversationEntry[]): HomeRequest {
  const e = pick(rng, entries);
  return {
    task,
    text: pick(rng, e.requests),
    content: { answer: e.answer, reasons: e.reasons, extras: e.extras, emotional: task === 'emotional' },
    factId: null,
  };
}

const allFacts = knowledgeBase();

/** A request of the given kind; a factId forces that fact (and the 'fact' task). */
export function generateRequest(rng: Random, task: HomeTask, factId?: string): HomeRequest {
  if (factId !== undefined) return factQuestion(rng, factById(factId));
  switch (task) {
    case 'reminder': return reminder(rng);
    case 'recipe': return recipe(rng);
    case 'fact': return factQuestion(rng, pick(rng, allFacts));
    case 'smalltalk': return conversation(rng, 'smalltalk', smallTalk);
    case 'emotional': return conversation(rng, 'emotional', emotionalSituations);
  }
}
