// Text from a request as the model and the learner may read it. Nothing is
// refused for what it says (garbage and hostile text are stored as sent, and
// the learner's gate decides whether to learn from them); two things are
// changed because they would break the chat format itself:
// - control characters other than newline and tab are dropped (the learner's
//   experience schema refuses them);
// - "<|", which opens the format's role markers (<|user|>, <|assistant|>, ...),
//   is written "< |", so a message cannot forge another turn.

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function cleanText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(CONTROL, '').replace(LONE_SURROGATE, '\uFFFD').replaceAll('<|', '< |');
}
