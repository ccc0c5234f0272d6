// The fictional knowledge base of the home-assistant world: the town of
// Brindlemoor, its places and people, the user's household and a few recipes.
// Every name is invented, so a model can only know these facts from our corpus;
// that is what lets a QA probe tell learned knowledge from guessing.
//
// The tables are hand-written (readable, fixed forever); facts are expanded from
// them by kind. Every answer is a short string that a correct reply must contain,
// and no answer is a substring of another, so containment checks are unambiguous.

export interface Fact {
  id: string;
  /** The canonical question, phrased as a user would ask it (the QA probe uses this one). */
  question: string;
  /** A short string that must appear in a correct reply. */
  answer: string;
  /** The fact as one declarative sentence; it contains `answer`. */
  statement: string;
  /** Every phrasing of the question; `questions[0] === question`. */
  questions: readonly string[];
  /** What the fact is about (a place, person, recipe, 'household' or 'town'); facts sharing a topic are siblings. */
  topic: string;
}

interface Place { name: string; street: string; opens: string; closes: string }
interface Person { name: string; birthday: string; job: string; animal: string; pet: string }
interface Recipe { name: string; ingredients: string; main: string; time: string; verb: string; touch: string }
interface HandFact { key: string; questions: string[]; answer: string; statement: string }

const places: Place[] = [
  { name: 'Copperwick Pharmacy', street: 'Marrowgate Lane', opens: '7 am', closes: '6:30 pm' },
  { name: 'Thimble Bakery', street: 'Pellow Street', opens: '6 am', closes: '4 pm' },
  { name: 'Brindlemoor Library', street: 'Ashcombe Row', opens: '9:30 am', closes: '7:15 pm' },
  { name: 'Gorseby Post Office', street: 'Tunwell Road', opens: '8:45 am', closes: '5:15 pm' },
  { name: 'Fennimore Swimming Baths', street: 'Quillon Avenue', opens: '6:30 am', closes: '8:45 pm' },
  { name: 'Oddleigh Market', street: 'Harrowby Square', opens: '7:45 am', closes: '4:30 pm' },
  { name: 'Saltmarsh Hardware', street: 'Crinkle Street', opens: '8 am', closes: '5:45 pm' },
  { name: 'Wyvern Cinema', street: 'Larkspur Way', opens: '10:45 am', closes: '8:30 pm' },
  { name: 'Mossgrove Clinic', street: 'Dunmere Close', opens: '7:30 am', closes: '6:15 pm' },
  { name: 'Tillery Garden Centre', street: 'Brackenfold Road', opens: '8:30 am', closes: '5:50 pm' },
  { name: 'Pennywhistle Toy Shop', street: 'Quarrel Lane', opens: '9:45 am', closes: '5:30 pm' },
  { name: 'Hobnail Tearoom', street: 'Sorrel Walk', opens: '9:15 am', closes: '4:45 pm' },
  { name: 'Ravelstone Museum', street: 'Gillyflower Street', opens: '10 am', closes: '6 pm' },
  { name: 'Netherby Inn', street: 'Whistlecombe Road', opens: '10:30 am', closes: '8:15 pm' },
  { name: 'Brindlemoor Town Hall', street: 'Chancery Yard', opens: '8:15 am', closes: '4:15 pm' },
  { name: 'Oakapple School', street: 'Fidget Lane', opens: '7:15 am', closes: '6:45 pm' },
  { name: 'Larchwood Bicycle Repair', street: 'Tolly Street', opens: '9 am', closes: '7 pm' },
  { name: 'Dimmock Fishmonger', street: 'Pilchard Quay', opens: '6:15 am', closes: '7:30 pm' },
  { name: 'Verity Launderette', street: 'Nettlebed Road', opens: '6:45 am', closes: '7:45 pm' },
  { name: 'Skelby Station', street: 'Umberlee Approach', opens: '10:15 am', closes: '8 pm' },
];

const people: Person[] = [
  { name: 'Odile Ferncastle', birthday: 'March 3rd', job: 'beekeeper', animal: 'tortoise', pet: 'Gherkin' },
  { name: 'Barnaby Tusk', birthday: 'July 19th', job: 'clockmaker', animal: 'dog', pet: 'Pumpernickel' },
  { name: 'Wren Halloway', birthday: 'November 27th', job: 'ferry pilot', animal: 'cat', pet: 'Marzipan' },
  { name: 'Ptolemy Grubb', birthday: 'January 14th', job: 'glassblower', animal: 'parrot', pet: 'Admiral Fig' },
  { name: 'Isolde Marchbank', birthday: 'May 8th', job: 'piano tuner', animal: 'rabbit', pet: 'Clementine' },
  { name: 'Caspian Dwindle', birthday: 'September 30th', job: 'cheesemaker', animal: 'goat', pet: 'Barnacle' },
  { name: 'Henrietta Plum', birthday: 'February 21st', job: 'lighthouse keeper', animal: 'ferret', pet: 'Noodle' },
  { name: 'Fergus Oakhollow', birthday: 'August 2nd', job: 'blacksmith', animal: 'goldfish', pet: 'Sixpence' },
  { name: 'Tamsin Rook', birthday: 'December 11th', job: 'bookbinder', animal: 'canary', pet: 'Treacle' },
  { name: 'Ambrose Kettleby', birthday: 'April 9th', job: 'cartographer', animal: 'hedgehog', pet: 'Bramble' },
  { name: 'Nell Brackwater', birthday: 'June 16th', job: 'falconer', animal: 'owl', pet: 'Perpetua' },
  { name: 'Orrin Sallow', birthday: 'October 5th', job: 'locksmith', animal: 'pony', pet: 'Crumpet' },
  { name: 'Philippa Gant', birthday: 'March 25th', job: 'weaver', animal: 'duck', pet: 'Hortensia' },
  { name: 'Jory Penhallow', birthday: 'July 4th', job: 'stonemason', animal: 'cat', pet: 'Mothball' },
  { name: 'Delphine Crumb', birthday: 'January 29th', job: 'violin teacher', animal: 'dog', pet: 'Waffles' },
  { name: 'Silas Underbank', birthday: 'May 31st', job: 'candlemaker', animal: 'lizard', pet: 'Gooseberry' },
  { name: 'Maudie Fairweather', birthday: 'August 18th', job: 'potter', animal: 'hamster', pet: 'Tiddlywink' },
  { name: 'Quentin Hobb', birthday: 'December 23rd', job: 'tailor', animal: 'tortoise', pet: 'Bartholomew' },
  { name: 'Rosalind Thistlewood', birthday: 'September 12th', job: 'astronomer', animal: 'cat', pet: 'Juniper' },
  { name: 'Edwin Larkby', birthday: 'February 6th', job: 'ropemaker', animal: 'dog', pet: 'Dumpling' },
];

const recipes: Recipe[] = [
  { name: 'Brindle stew', ingredients: 'smoked parsnip, pearl barley and leeks', main: 'smoked parsnip', time: '50 minutes', verb: 'simmers', touch: 'a spoon of damson jam' },
  { name: 'Moorland oatcakes', ingredients: 'rolled oats, butter and a pinch of salt', main: 'rolled oats', time: '22 minutes', verb: 'bakes', touch: 'a little toasted caraway' },
  { name: 'Gorseby fish pie', ingredients: 'smoked haddock, mashed potato and peas', main: 'smoked haddock', time: '35 minutes', verb: 'bakes', touch: 'a grating of lemon zest' },
  { name: 'quince crumble', ingredients: 'quinces, oats and brown sugar', main: 'quinces', time: '40 minutes', verb: 'bakes', touch: 'a pinch of nutmeg' },
  { name: 'Tillery tomato soup', ingredients: 'roasted tomatoes, red onion and basil', main: 'roasted tomatoes', time: '25 minutes', verb: 'simmers', touch: 'a splash of cider vinegar' },
  { name: 'Harrowby honey loaf', ingredients: 'heather honey, spelt flour and walnuts', main: 'heather honey', time: '70 minutes', verb: 'bakes', touch: 'a brush of warm milk on top' },
  { name: 'Pellow pancakes', ingredients: 'buckwheat flour, buttermilk and eggs', main: 'buckwheat flour', time: '12 minutes', verb: 'cooks', touch: 'a drop of vanilla' },
  { name: 'Wyvern lentil bake', ingredients: 'green lentils, carrots and thyme', main: 'green lentils', time: '55 minutes', verb: 'bakes', touch: 'a handful of crispy shallots' },
  { name: 'rhubarb fool', ingredients: 'stewed rhubarb, cream and ginger', main: 'stewed rhubarb', time: '18 minutes', verb: 'cooks', touch: 'crushed ginger biscuits' },
  { name: 'Larkspur leek tart', ingredients: 'leeks, crumbly cheese and shortcrust pastry', main: 'crumbly cheese', time: '45 minutes', verb: 'bakes', touch: 'a few chopped chives' },
  { name: 'Dunmere dumplings', ingredients: 'suet, self-raising flour and parsley', main: 'suet', time: '28 minutes', verb: 'steams', touch: 'a twist of black pepper' },
  { name: 'fennel risotto', ingredients: 'arborio rice, fennel and parmesan', main: 'arborio rice', time: '32 minutes', verb: 'cooks', touch: 'a knob of sage butter' },
];

const household: HandFact[] = [
  { key: 'thermostat-day', questions: ['What is the living room thermostat set to during the day?', 'How warm is the living room thermostat set in the daytime?'], answer: '21 degrees', statement: 'The living room thermostat is set to 21 degrees during the day.' },
  { key: 'thermostat-night', questions: ['What is the bedroom thermostat set to at night?', 'How warm is the bedroom kept at night?'], answer: '17 degrees', statement: 'The bedroom thermostat is set to 17 degrees at night.' },
  { key: 'heating-start', questions: ['When does the heating come on in the morning?', 'What time does the heating start in the morning?'], answer: '6:20 am', statement: 'The heating comes on at 6:20 am.' },
  { key: 'hot-water-boost', questions: ['How long does the hot water boost run?', 'How long is the hot water boost?'], answer: 'half an hour', statement: 'The hot water boost runs for half an hour.' },
  { key: 'wifi-name', questions: ['What is our wifi network called?', 'What is the name of the wifi network?'], answer: 'Otterbeck', statement: 'The wifi network is called Otterbeck.' },
  { key: 'wifi-password', questions: ['What is the wifi password?', 'What is the password for the wifi?'], answer: 'marigold42', statement: 'The wifi password is marigold42.' },
  { key: 'wool-wash', questions: ['What temperature is the wool wash on the washing machine?', 'How hot is the wool programme on the washing machine?'], answer: '30 degrees', statement: 'The wool wash on the washing machine runs at 30 degrees.' },
  { key: 'dishwasher-eco', questions: ['How long does the dishwasher eco programme take?', 'How long is the eco cycle on the dishwasher?'], answer: '3 hours', statement: 'The dishwasher eco programme takes 3 hours.' },
  { key: 'bin-day', questions: ['Which day are the bins collected?', 'When is bin day?'], answer: 'Thursday', statement: 'The bins are collected on Thursday.' },
  { key: 'recycling-day', questions: ['Which day is the recycling collected?', 'When does the recycling go out?'], answer: 'Tuesday', statement: 'The recycling is collected on Tuesday.' },
  { key: 'door-code', questions: ['What is the front door code?', 'What code opens the front door?'], answer: '4817', statement: 'The front door code is 4817.' },
  { key: 'garage-code', questions: ['What is the garage door code?', 'What code opens the garage?'], answer: '2290', statement: 'The garage door code is 2290.' },
  { key: 'smoke-alarm', questions: ['When do we test the smoke alarms?', 'Which day are the smoke alarms tested?'], answer: 'first Sunday of the month', statement: 'The smoke alarms are tested on the first Sunday of the month.' },
  { key: 'vacuum-name', questions: ['What is the robot vacuum called?', 'What is the name of the robot vacuum?'], answer: 'Sir Hoovington', statement: 'The robot vacuum is called Sir Hoovington.' },
  { key: 'vacuum-time', questions: ['When does the robot vacuum run?', 'What time does the robot vacuum start?'], answer: '11:20 am', statement: 'The robot vacuum runs at 11:20 am.' },
  { key: 'porch-light', questions: ['When does the porch light turn on?', 'What time does the porch light come on?'], answer: '7:40 pm', statement: 'The porch light turns on at 7:40 pm.' },
  { key: 'speaker-name', questions: ['What is the kitchen speaker called?', 'What is the name of the kitchen speaker?'], answer: 'Pebble', statement: 'The kitchen speaker is called Pebble.' },
  { key: 'fridge', questions: ['What temperature is the fridge set to?', 'How cold is the fridge?'], answer: '3 degrees', statement: 'The fridge is set to 3 degrees.' },
  { key: 'sprinkler', questions: ['When does the garden sprinkler run?', 'What time does the sprinkler come on?'], answer: '9:10 pm', statement: 'The garden sprinkler runs at 9:10 pm.' },
  { key: 'plumber', questions: ['Who is our plumber?', 'Which plumber do we use?'], answer: 'Tobias Flint', statement: 'The household plumber is Tobias Flint.' },
  { key: 'spare-key', questions: ['Where is the spare key?', 'Where do we keep the spare key?'], answer: 'blue flowerpot', statement: 'The spare key is under the blue flowerpot.' },
  { key: 'house-name', questions: ['What is the name of our house?', 'What is our house called?'], answer: 'Hollyhock Cottage', statement: 'The house is called Hollyhock Cottage.' },
  { key: 'doorbell', questions: ['What tune does the doorbell play?', 'Which tune is the doorbell chime?'], answer: 'Bumblebee Waltz', statement: 'The doorbell plays the Bumblebee Waltz.' },
  { key: 'boiler-service', questions: ['When is the boiler service due?', 'When does the boiler need its next service?'], answer: 'April 2026', statement: 'The boiler service is due in April 2026.' },
];

const town: HandFact[] = [
  { key: 'mayor', questions: ['Who is the mayor of Brindlemoor?', 'Who is Brindlemoor\'s mayor?'], answer: 'Marla Quince', statement: 'The mayor of Brindlemoor is Marla Quince.' },
  { key: 'river', questions: ['What river runs through Brindlemoor?', 'What is the river in Brindlemoor called?'], answer: 'Wendle', statement: 'The river through Brindlemoor is the Wendle.' },
  { key: 'festival', questions: ['What is the Brindlemoor festival called?', 'What is the name of the town festival?'], answer: 'Lantern Fair', statement: 'The Brindlemoor festival is called the Lantern Fair.' },
  { key: 'festival-date', questions: ['When is the Lantern Fair?', 'What day is the Lantern Fair held?'], answer: 'last Saturday of June', statement: 'The Lantern Fair is held on the last Saturday of June.' },
  { key: 'bus', questions: ['Which bus goes to Gorseby?', 'What bus do I take to Gorseby?'], answer: 'number 14', statement: 'The number 14 bus goes to Gorseby.' },
  { key: 'population', questions: ['How many people live in Brindlemoor?', 'What is the population of Brindlemoor?'], answer: '3,240', statement: 'Brindlemoor has 3,240 residents.' },
  { key: 'hill', questions: ['What is the hill above Brindlemoor called?', 'What is the name of the hill above town?'], answer: 'Crookback Hill', statement: 'The hill above Brindlemoor is Crookback Hill.' },
  { key: 'team', questions: ['What is the Brindlemoor football team called?', 'Which football team plays in Brindlemoor?'], answer: 'Brindlemoor Badgers', statement: 'The football team of Brindlemoor is the Brindlemoor Badgers.' },
  { key: 'newspaper', questions: ['What is the local newspaper called?', 'Which newspaper covers Brindlemoor?'], answer: 'Moorland Gazette', statement: 'The local newspaper is the Moorland Gazette.' },
  { key: 'market-day', questions: ['Which day is market day in Brindlemoor?', 'When is market day?'], answer: 'Wednesday', statement: 'Brindlemoor holds market day on Wednesday.' },
  { key: 'twin-town', questions: ['What is Brindlemoor\'s twin town?', 'Which town is Brindlemoor twinned with?'], answer: 'Velmonde', statement: 'Brindlemoor is twinned with Velmonde.' },
  { key: 'founded', questions: ['When was Brindlemoor founded?', 'What year was Brindlemoor founded?'], answer: '1612', statement: 'Brindlemoor was founded in 1612.' },
  { key: 'bell', questions: ['What is the town hall bell called?', 'What is the name of the big bell?'], answer: 'Old Tobias', statement: 'The town hall bell is called Old Tobias.' },
];

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function fact(id: string, topic: string, questions: string[], answer: string, statement: string): Fact {
  if (!statement.includes(answer)) throw new Error(`knowledge base: statement of ${id} does not contain its answer "${answer}"`);
  return { id, question: questions[0], answer, statement, questions, topic };
}

function article(noun: string): string {
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

function buildKnowledgeBase(): Fact[] {
  const facts: Fact[] = [];
  for (const p of places) {
    const id = `place-${slug(p.name)}`;
    facts.push(fact(`${id}-opens`, p.name, [`When does ${p.name} open?`, `What time does ${p.name} open?`, `What time does ${p.name} open in the morning?`], p.opens, `${p.name} opens at ${p.opens}.`));
    facts.push(fact(`${id}-closes`, p.name, [`When does ${p.name} close?`, `What time does ${p.name} close?`, `How late is ${p.name} open?`], p.closes, `${p.name} closes at ${p.closes}.`));
    facts.push(fact(`${id}-street`, p.name, [`What street is ${p.name} on?`, `Where is ${p.name}?`, `Where can I find ${p.name}?`], p.street, `${p.name} is on ${p.street}.`));
  }
  for (const q of people) {
    const id = `person-${slug(q.name)}`;
    facts.push(fact(`${id}-birthday`, q.name, [`When is ${q.name}'s birthday?`, `What day is ${q.name}'s birthday?`], q.birthday, `${q.name} has a birthday on ${q.birthday}.`));
    facts.push(fact(`${id}-job`, q.name, [`What does ${q.name} do for a living?`, `What is ${q.name}'s job?`, `What does ${q.name} work as?`], q.job, `${q.name} works as ${article(q.job)}.`));
    facts.push(fact(`${id}-pet`, q.name, [`What is ${q.name}'s ${q.animal} called?`, `What is the name of ${q.name}'s ${q.animal}?`], q.pet, `${q.name} has ${article(q.animal)} called ${q.pet}.`));
  }
  for (const r of recipes) {
    const id = `recipe-${slug(r.name)}`;
    facts.push(fact(`${id}-main`, r.name, [`What is the main ingredient of ${r.name}?`, `What goes into ${r.name} first and foremost?`, `What is ${r.name} mostly made of?`], r.main, `The main ingredient of ${r.name} is ${r.main}.`));
    facts.push(fact(`${id}-time`, r.name, [`How long does ${r.name} take to cook?`, `How long do I cook ${r.name}?`, `What is the cooking time for ${r.name}?`], r.time, `${sentenceSubject(r.name)} ${dishVerb(r)} for ${r.time}.`));
    facts.push(fact(`${id}-touch`, r.name, [`What is the secret touch in ${r.name}?`, `What is the finishing touch for ${r.name}?`], r.touch, `The secret touch in ${r.name} is ${r.touch}.`));
  }
  for (const h of household) facts.push(fact(`household-${h.key}`, 'household', h.questions, h.answer, h.statement));
  for (const t of town) facts.push(fact(`town-${t.key}`, 'town', t.questions, t.answer, t.statement));
  return facts;
}

/** The recipe's cooking verb agreeing with its name ("oatcakes bake", "stew simmers"). */
export function dishVerb(r: Recipe): string {
  return isPluralDish(r.name) ? r.verb.replace(/s$/, '') : r.verb;
}

export function isPluralDish(dish: string): boolean {
  return /s$/.test(dish);
}

/** A dish as the subject of a sentence: names keep their capital, common dishes get "The". */
export function sentenceSubject(dish: string): string {
  return /^[a-z]/.test(dish) ? `The ${dish}` : dish;
}

// Built once at load and frozen: the knowledge base is constant data, never state.
const allFacts: readonly Fact[] = Object.freeze(buildKnowledgeBase().map((f) => Object.freeze({ ...f, questions: Object.freeze(f.questions.slice()) })));
const factsById = new Map(allFacts.map((f) => [f.id, f]));
const factsByTopic = new Map<string, Fact[]>();
for (const f of allFacts) factsByTopic.set(f.topic, [...(factsByTopic.get(f.topic) ?? []), f]);

/** Every fact, in a fixed order; the same on every call (the tables never change). */
export function knowledgeBase(): Fact[] {
  return allFacts.slice();
}

/** The QA probe set: one fixed phrasing per fact. */
export function factSet(): { id: string; question: string; answer: string }[] {
  return allFacts.map((f) => ({ id: f.id, question: f.question, answer: f.answer }));
}

/** A fact by id; throws naming the id when it does not exist. */
export function factById(id: string): Fact {
  const found = factsById.get(id);
  if (!found) throw new RangeError(`knowledge base: no fact with id "${id}" (ids look like "place-copperwick-pharmacy-opens")`);
  return found;
}

/** Facts sharing a topic with `fact` (itself excluded): material for detailed replies. */
export function siblingFacts(fact: Fact): Fact[] {
  return (factsByTopic.get(fact.topic) ?? []).filter((f) => f.id !== fact.id);
}

/**
 * Every capitalised word that belongs to a name in the knowledge base (places,
 * people, recipes, and names inside statements such as "Otterbeck"): text
 * generators keep these capitalised when a sentence no longer starts with them.
 */
export function properNouns(): ReadonlySet<string> {
  return nameWords;
}

const nameWords: ReadonlySet<string> = (() => {
  const words = new Set<string>();
  const addCapitalised = (text: string, skipFirst: boolean): void => {
    text.split(/[\s,.']+/).forEach((word, i) => {
      if ((!skipFirst || i > 0) && /^[A-Z][a-z]+$/.test(word)) words.add(word);
    });
  };
  for (const p of places) addCapitalised(p.name, false);
  for (const q of people) addCapitalised(q.name, false);
  for (const r of recipes) addCapitalised(r.name, false);
  for (const f of allFacts) addCapitalised(f.statement, true);
  return words;
})();

/** The tables that other parts of the world reuse (reminders, recipes, small talk) so the world stays consistent. */
export const knowledgeTables = { places, people, recipes } as const;
export type { Place, Person, Recipe };
