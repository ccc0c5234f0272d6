import type { CodeLine, LineKind } from './codeModel.js';

// The tiny programming tasks of the coding world. Each is a short function in a
// JavaScript-like language, written once in canonical form (snake_case names,
// no semicolons), with one realistic bug. Every buggy line holds a multi-word
// name, so a diff of it shows the naming style, and every buggy line is a plain
// statement, so it shows the semicolon style too.

export interface CodingTask {
  /** Stable id, naming-neutral (kebab-case). */
  id: string;
  /** The function's canonical (snake_case) name. */
  name: string;
  /** What the function is for, as an architect would say it. */
  purpose: string;
  /** The correct implementation, header and closing brace included. */
  lines: readonly CodeLine[];
  /** Which line is wrong in the buggy variant, and how (null: the line is missing). */
  bug: { line: number; buggy: string | null };
  /** What the user sees go wrong, e.g. "returns 7 instead of 6 for [1, 2, 3]". */
  symptom: string;
  /** The cause, in canonical names, e.g. "total_sum starts at 1 instead of 0". */
  diagnosis: string;
  /** A dense-style comment for the corrected line. */
  fixNote: string;
}

interface TaskSource {
  id: string;
  purpose: string;
  /** One code line each, indented by two spaces per level, then ` -- ` and its comment. */
  code: string[];
  bug: { line: number; buggy: string | null };
  symptom: string;
  diagnosis: string;
  fixNote: string;
}

const sources: TaskSource[] = [
  {
    id: 'sum-list', purpose: 'adds up a list of numbers',
    code: [
      'function sum_list(items) { -- add up every number',
      '  let total_sum = 0 -- start from zero',
      '  for (const item of items) { -- visit each item',
      '    total_sum = total_sum + item -- add it to the total',
      '  }',
      '  return total_sum -- hand back the total',
      '}',
    ],
    bug: { line: 1, buggy: 'let total_sum = 1' },
    symptom: 'returns 7 instead of 6 for [1, 2, 3]',
    diagnosis: 'total_sum starts at 1 instead of 0', fixNote: 'the total starts at zero',
  },
  {
    id: 'largest-item', purpose: 'finds the largest item of a list',
    code: [
      'function largest_item(items) { -- find the biggest item',
      '  let best_item = items[0] -- start with the first item',
      '  for (const item of items) { -- look at each item',
      '    if (item > best_item) best_item = item -- keep the bigger one',
      '  }',
      '  return best_item -- hand back the biggest',
      '}',
    ],
    bug: { line: 1, buggy: 'let best_item = 0' },
    symptom: 'returns 0 instead of -1 for [-3, -1, -2]',
    diagnosis: 'best_item starts at 0, so lists of negative numbers break', fixNote: 'start from the first item',
  },
  {
    id: 'lowest-item', purpose: 'finds the smallest item of a list',
    code: [
      'function lowest_item(items) { -- find the smallest item',
      '  let lowest_value = items[0] -- start with the first item',
      '  for (const item of items) { -- look at each item',
      '    if (item < lowest_value) lowest_value = item -- keep the smaller one',
      '  }',
      '  return lowest_value -- hand back the smallest',
      '}',
    ],
    bug: { line: 3, buggy: 'if (item > lowest_value) lowest_value = item' },
    symptom: 'returns 3 instead of 1 for [2, 1, 3]',
    diagnosis: 'the comparison keeps the bigger item instead of the smaller one', fixNote: 'keep the smaller one',
  },
  {
    id: 'reverse-text', purpose: 'reverses a string',
    code: [
      'function reverse_text(text) { -- reverse a string',
      '  let reversed_text = "" -- start empty',
      '  for (const ch of text) { -- walk the characters',
      '    reversed_text = ch + reversed_text -- put each one in front',
      '  }',
      '  return reversed_text -- hand back the result',
      '}',
    ],
    bug: { line: 3, buggy: 'reversed_text = reversed_text + ch' },
    symptom: 'returns "abc" unchanged for "abc"',
    diagnosis: 'each character is appended instead of put in front', fixNote: 'put each character in front',
  },
  {
    id: 'count-vowels', purpose: 'counts the vowels in a string',
    code: [
      'function count_vowels(text) { -- count the vowels',
      '  let vowel_count = 0 -- none seen yet',
      '  for (const ch of text) { -- check each character',
      '    if ("aeiou".includes(ch)) vowel_count = vowel_count + 1 -- count a vowel',
      '  }',
      '  return vowel_count -- hand back the count',
      '}',
    ],
    bug: { line: 1, buggy: 'let vowel_count = 1' },
    symptom: 'returns 3 instead of 2 for "hello"',
    diagnosis: 'vowel_count starts at 1 instead of 0', fixNote: 'no vowels seen yet',
  },
  {
    id: 'clamp-number', purpose: 'keeps a number inside a range',
    code: [
      'function clamp_number(value, low_bound, high_bound) { -- keep a value inside a range',
      '  if (value < low_bound) return low_bound -- too small: use the floor',
      '  if (value > high_bound) return high_bound -- too big: use the ceiling',
      '  return value -- already inside',
      '}',
    ],
    bug: { line: 2, buggy: 'if (value > high_bound) return low_bound' },
    symptom: 'returns 0 instead of 10 for (15, 0, 10)',
    diagnosis: 'a value above high_bound returns low_bound', fixNote: 'too big values go to the ceiling',
  },
  {
    id: 'average-value', purpose: 'computes the mean of a list of numbers',
    code: [
      'function average_value(number_list) { -- mean of the numbers',
      '  let total_sum = 0 -- start from zero',
      '  for (const value of number_list) { -- add every number',
      '    total_sum = total_sum + value -- grow the total',
      '  }',
      '  return total_sum / number_list.length -- divide by the count',
      '}',
    ],
    bug: { line: 5, buggy: 'return total_sum / (number_list.length + 1)' },
    symptom: 'returns 1.5 instead of 2 for [1, 2, 3]',
    diagnosis: 'total_sum is divided by one more than the count', fixNote: 'divide by the real count',
  },
  {
    id: 'is-palindrome', purpose: 'checks whether a string reads the same backwards',
    code: [
      'function is_palindrome(text) { -- same forwards and backwards',
      '  const reversed_text = text.split("").reverse().join("") -- reverse the text',
      '  return reversed_text === text -- compare both ways',
      '}',
    ],
    bug: { line: 2, buggy: 'return reversed_text !== text' },
    symptom: 'returns false for "level"',
    diagnosis: 'the comparison of reversed_text and text is negated', fixNote: 'equal means palindrome',
  },
  {
    id: 'factorial-of', purpose: 'computes the factorial of a number',
    code: [
      'function factorial_of(number_value) { -- multiply one up to n',
      '  if (number_value <= 1) return 1 -- the base case is one',
      '  return number_value * factorial_of(number_value - 1) -- n times the rest',
      '}',
    ],
    bug: { line: 1, buggy: 'if (number_value <= 1) return 0' },
    symptom: 'returns 0 for 4',
    diagnosis: 'the base case of factorial_of returns 0 instead of 1', fixNote: 'the base case is one',
  },
  {
    id: 'fizz-buzz-label', purpose: 'labels a number for fizzbuzz',
    code: [
      'function fizz_buzz_label(number_value) { -- label a number',
      '  if (number_value % 15 === 0) return "FizzBuzz" -- both three and five',
      '  if (number_value % 3 === 0) return "Fizz" -- multiple of three',
      '  if (number_value % 5 === 0) return "Buzz" -- multiple of five',
      '  return String(number_value) -- a plain number',
      '}',
    ],
    bug: { line: 3, buggy: 'if (number_value % 5 === 0) return "Fizz"' },
    symptom: 'returns "Fizz" instead of "Buzz" for 10',
    diagnosis: 'multiples of five get the wrong label', fixNote: 'multiples of five say Buzz',
  },
  {
    id: 'remove-duplicates', purpose: 'keeps each item of a list once',
    code: [
      'function remove_duplicates(item_list) { -- keep each item once',
      '  const seen_items = [] -- items kept so far',
      '  for (const item of item_list) { -- look at each item',
      '    if (!seen_items.includes(item)) seen_items.push(item) -- keep new items only',
      '  }',
      '  return seen_items -- hand back the unique items',
      '}',
    ],
    bug: { line: 3, buggy: 'if (seen_items.includes(item)) seen_items.push(item)' },
    symptom: 'returns [] for [1, 1, 2]',
    diagnosis: 'the check keeps items already in seen_items instead of new ones', fixNote: 'keep new items only',
  },
  {
    id: 'capitalize-words', purpose: 'capitalizes every word of a sentence',
    code: [
      'function capitalize_words(sentence_text) { -- capitalize each word',
      '  const word_list = sentence_text.split(" ") -- split into words',
      '  const capital_words = word_list.map((word) => upper(word[0]) + word.slice(1)) -- raise the first letter',
      '  return capital_words.join(" ") -- join them back',
      '}',
    ],
    bug: { line: 2, buggy: 'const capital_words = word_list.map((word) => upper(word[0]) + word.slice(0))' },
    symptom: 'returns "HHello WWorld" for "hello world"',
    diagnosis: 'the first letter is kept twice in capital_words', fixNote: 'skip the first letter',
  },
  {
    id: 'count-words', purpose: 'counts the words of a sentence',
    code: [
      'function count_words(sentence_text) { -- count the words',
      '  const word_list = sentence_text.trim().split(" ") -- split on spaces',
      '  return word_list.length -- one entry per word',
      '}',
    ],
    bug: { line: 2, buggy: 'return word_list.length - 1' },
    symptom: 'returns 1 instead of 2 for "hi there"',
    diagnosis: 'the length of word_list is reduced by one', fixNote: 'one entry per word',
  },
  {
    id: 'is-even-number', purpose: 'checks whether a number is even',
    code: [
      'function is_even_number(number_value) { -- check for an even number',
      '  return number_value % 2 === 0 -- even leaves no remainder',
      '}',
    ],
    bug: { line: 1, buggy: 'return number_value % 2 === 1' },
    symptom: 'returns true for 3',
    diagnosis: 'the remainder of number_value is compared with 1 instead of 0', fixNote: 'even leaves no remainder',
  },
  {
    id: 'square-all', purpose: 'squares every number of a list',
    code: [
      'function square_all(number_list) { -- square each number',
      '  const squared_values = number_list.map((value) => value * value) -- multiply each by itself',
      '  return squared_values -- hand back the squares',
      '}',
    ],
    bug: { line: 1, buggy: 'const squared_values = number_list.map((value) => value + value)' },
    symptom: 'returns [2, 4, 6] instead of [1, 4, 9] for [1, 2, 3]',
    diagnosis: 'each value is added to itself instead of multiplied', fixNote: 'multiply each by itself',
  },
  {
    id: 'count-matches', purpose: 'counts the items equal to a target',
    code: [
      'function count_matches(item_list, target_value) { -- count equal items',
      '  let match_count = 0 -- none yet',
      '  for (const item of item_list) { -- check each item',
      '    if (item === target_value) match_count = match_count + 1 -- count a match',
      '  }',
      '  return match_count -- hand back the count',
      '}',
    ],
    bug: { line: 3, buggy: 'if (item !== target_value) match_count = match_count + 1' },
    symptom: 'returns 2 instead of 1 for ([1, 2, 3], 2)',
    diagnosis: 'the check counts items that differ from target_value', fixNote: 'count equal items only',
  },
  {
    id: 'last-item', purpose: 'returns the final item of a list',
    code: [
      'function last_item(item_list) { -- the final item',
      '  if (item_list.length === 0) return null -- empty lists have none',
      '  return item_list[item_list.length - 1] -- indexes start at zero',
      '}',
    ],
    bug: { line: 2, buggy: 'return item_list[item_list.length]' },
    symptom: 'returns undefined for [1, 2, 3]',
    diagnosis: 'the index into item_list is one past the end', fixNote: 'indexes start at zero',
  },
  {
    id: 'repeat-text', purpose: 'repeats a string a number of times',
    code: [
      'function repeat_text(text, repeat_count) { -- repeat text n times',
      '  let result_text = "" -- start empty',
      '  let round_index = 0 -- rounds done',
      '  while (round_index < repeat_count) { -- until enough rounds',
      '    result_text = result_text + text -- add one copy',
      '    round_index = round_index + 1 -- count the round',
      '  }',
      '  return result_text -- hand back the text',
      '}',
    ],
    bug: { line: 2, buggy: 'let round_index = 1' },
    symptom: 'returns "abab" instead of "ababab" for ("ab", 3)',
    diagnosis: 'round_index starts at 1, so one copy is missing', fixNote: 'no rounds done yet',
  },
  {
    id: 'product-list', purpose: 'multiplies all numbers of a list',
    code: [
      'function product_list(number_list) { -- multiply all numbers',
      '  let running_product = 1 -- start from one',
      '  for (const value of number_list) { -- take each number',
      '    running_product = running_product * value -- multiply it in',
      '  }',
      '  return running_product -- hand back the product',
      '}',
    ],
    bug: { line: 3, buggy: 'running_product = running_product + value' },
    symptom: 'returns 7 instead of 6 for [1, 2, 3]',
    diagnosis: 'values are added to running_product instead of multiplied', fixNote: 'multiply, do not add',
  },
  {
    id: 'count-positive', purpose: 'counts the numbers above zero',
    code: [
      'function count_positive(number_list) { -- count numbers above zero',
      '  let positive_count = 0 -- none yet',
      '  for (const value of number_list) { -- check each number',
      '    if (value > 0) positive_count = positive_count + 1 -- count it if positive',
      '  }',
      '  return positive_count -- hand back the count',
      '}',
    ],
    bug: { line: 3, buggy: 'if (value >= 0) positive_count = positive_count + 1' },
    symptom: 'returns 2 instead of 1 for [0, 5, -2]',
    diagnosis: 'zero is counted in positive_count', fixNote: 'zero is not positive',
  },
  {
    id: 'max-of-two', purpose: 'returns the larger of two numbers',
    code: [
      'function max_of_two(first_value, second_value) { -- the larger of two numbers',
      '  return first_value > second_value ? first_value : second_value -- pick the larger',
      '}',
    ],
    bug: { line: 1, buggy: 'return first_value < second_value ? first_value : second_value' },
    symptom: 'returns 2 instead of 5 for (5, 2)',
    diagnosis: 'the comparison picks the smaller of first_value and second_value', fixNote: 'pick the larger',
  },
  {
    id: 'absolute-value', purpose: 'returns the distance of a number from zero',
    code: [
      'function absolute_value(number_value) { -- distance from zero',
      '  if (number_value < 0) return -number_value -- flip negatives',
      '  return number_value -- positives stay',
      '}',
    ],
    bug: { line: 1, buggy: 'if (number_value < 0) return number_value' },
    symptom: 'returns -4 instead of 4 for -4',
    diagnosis: 'a negative number_value comes back unchanged', fixNote: 'flip negatives',
  },
  {
    id: 'celsius-to-fahrenheit', purpose: 'converts a temperature from Celsius to Fahrenheit',
    code: [
      'function celsius_to_fahrenheit(celsius_value) { -- convert a temperature',
      '  return celsius_value * 9 / 5 + 32 -- scale then shift',
      '}',
    ],
    bug: { line: 1, buggy: 'return celsius_value * 5 / 9 + 32' },
    symptom: 'returns about 87.6 instead of 212 for 100',
    diagnosis: 'the scale factor applied to celsius_value is upside down', fixNote: 'nine fifths, then shift',
  },
  {
    id: 'full-name', purpose: 'joins a first and a last name',
    code: [
      'function full_name(first_name, last_name) { -- join two names',
      '  return first_name + " " + last_name -- a space in between',
      '}',
    ],
    bug: { line: 1, buggy: 'return first_name + last_name' },
    symptom: 'returns "AdaLovelace" for ("Ada", "Lovelace")',
    diagnosis: 'the space between first_name and last_name is missing', fixNote: 'a space in between',
  },
  {
    id: 'range-list', purpose: 'lists the numbers from zero up to an end',
    code: [
      'function range_list(end_value) { -- numbers from zero up to the end',
      '  const number_list = [] -- collected numbers',
      '  let next_value = 0 -- the first number',
      '  while (next_value < end_value) { -- stop before the end',
      '    number_list.push(next_value) -- keep it',
      '    next_value = next_value + 1 -- move on',
      '  }',
      '  return number_list -- hand back the list',
      '}',
    ],
    bug: { line: 2, buggy: 'let next_value = 1' },
    symptom: 'returns [1, 2] instead of [0, 1, 2] for 3',
    diagnosis: 'next_value starts at 1 instead of 0', fixNote: 'the first number is zero',
  },
  {
    id: 'contains-item', purpose: 'checks whether a list holds a target',
    code: [
      'function contains_item(item_list, target_value) { -- check membership',
      '  for (const item of item_list) { -- look at each item',
      '    if (item === target_value) return true -- found it',
      '  }',
      '  return false -- not there',
      '}',
    ],
    bug: { line: 2, buggy: 'if (item !== target_value) return true' },
    symptom: 'returns true for ([1, 2], 5)',
    diagnosis: 'the check returns true on the first item that differs from target_value', fixNote: 'only an equal item counts',
  },
  {
    id: 'sum-of-squares', purpose: 'adds up the squares of a list of numbers',
    code: [
      'function sum_of_squares(number_list) { -- add up the squares',
      '  let total_sum = 0 -- start from zero',
      '  for (const value of number_list) { -- take each number',
      '    total_sum = total_sum + value * value -- add its square',
      '  }',
      '  return total_sum -- hand back the total',
      '}',
    ],
    bug: { line: 3, buggy: 'total_sum = total_sum + value * 2' },
    symptom: 'returns 12 instead of 14 for [1, 2, 3]',
    diagnosis: 'each value is doubled instead of squared before it joins total_sum', fixNote: 'add its square',
  },
  {
    id: 'longest-word', purpose: 'finds the longest word of a sentence',
    code: [
      'function longest_word(sentence_text) { -- find the longest word',
      '  let best_word = "" -- nothing yet',
      '  for (const word of sentence_text.split(" ")) { -- check each word',
      '    if (word.length > best_word.length) best_word = word -- keep the longer one',
      '  }',
      '  return best_word -- hand back the winner',
      '}',
    ],
    bug: { line: 3, buggy: 'if (word.length < best_word.length) best_word = word' },
    symptom: 'returns an empty string for "a big cat"',
    diagnosis: 'the comparison keeps shorter words in best_word', fixNote: 'keep the longer one',
  },
  {
    id: 'is-sorted', purpose: 'checks that a list of numbers is in ascending order',
    code: [
      'function is_sorted(number_list) { -- check ascending order',
      '  let previous_value = number_list[0] -- start at the first number',
      '  for (const value of number_list) { -- walk the list',
      '    if (value < previous_value) return false -- a drop means unsorted',
      '    previous_value = value -- remember this one',
      '  }',
      '  return true -- never dropped',
      '}',
    ],
    bug: { line: 3, buggy: 'if (value > previous_value) return false' },
    symptom: 'returns false for [1, 2, 3]',
    diagnosis: 'the check rejects values above previous_value instead of drops', fixNote: 'a drop means unsorted',
  },
  {
    id: 'safe-divide', purpose: 'divides two numbers without failing on zero',
    code: [
      'function safe_divide(top_value, bottom_value) { -- divide without crashing',
      '  if (bottom_value === 0) return 0 -- no division by zero',
      '  return top_value / bottom_value -- plain division',
      '}',
    ],
    bug: { line: 2, buggy: 'return bottom_value / top_value' },
    symptom: 'returns 0.5 instead of 2 for (4, 2)',
    diagnosis: 'top_value and bottom_value are swapped', fixNote: 'top over bottom',
  },
  {
    id: 'letter-total', purpose: 'counts the letters of all words in a list',
    code: [
      'function letter_total(word_list) { -- count letters in all words',
      '  let letter_count = 0 -- none yet',
      '  for (const word of word_list) { -- take each word',
      '    letter_count = letter_count + word.length -- add its length',
      '  }',
      '  return letter_count -- hand back the count',
      '}',
    ],
    bug: { line: 5, buggy: null },
    symptom: 'returns undefined for ["ab", "c"]',
    diagnosis: 'letter_count is never returned', fixNote: 'hand back the count',
  },
];

function parseLine(source: string, taskId: string): CodeLine {
  const [code, comment] = source.split(' -- ');
  const indent = code.length - code.trimStart().length;
  if (indent % 2 !== 0) throw new Error(`task ${taskId}: odd indentation in "${source}"`);
  const text = code.trim();
  const kind: LineKind = text === '}' ? 'close' : text.endsWith('{') ? 'open' : 'statement';
  return comment === undefined ? { kind, depth: indent / 2, text } : { kind, depth: indent / 2, text, comment };
}

function buildTask(source: TaskSource): CodingTask {
  const lines = source.code.map((line) => parseLine(line, source.id));
  const header = /^function ([a-z_]+)\(/.exec(lines[0].text);
  if (!header) throw new Error(`task ${source.id}: the first line must be a function header, got "${lines[0].text}"`);
  const target = lines[source.bug.line];
  if (!target || target.kind !== 'statement') {
    throw new Error(`task ${source.id}: bug line ${source.bug.line} must be a statement`);
  }
  return {
    id: source.id, name: header[1], purpose: source.purpose, lines, bug: source.bug,
    symptom: source.symptom, diagnosis: source.diagnosis, fixNote: source.fixNote,
  };
}

const taskList: readonly CodingTask[] = sources.map(buildTask);
const taskById = new Map(taskList.map((task) => [task.id, task]));

/** The ids of all coding tasks. */
export const codingTasks: readonly string[] = taskList.map((task) => task.id);

export function codingTask(id: string): CodingTask {
  const task = taskById.get(id);
  if (!task) throw new RangeError(`unknown coding task "${id}"; expected one of: ${codingTasks.join(', ')}`);
  return task;
}

/** The buggy variant's lines: the bug line replaced, or dropped when the bug is a missing line. */
export function buggyLines(task: CodingTask): CodeLine[] {
  const out: CodeLine[] = [];
  task.lines.forEach((line, index) => {
    if (index !== task.bug.line) out.push(line);
    else if (task.bug.buggy !== null) out.push({ ...line, text: task.bug.buggy });
  });
  return out;
}
