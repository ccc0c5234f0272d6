import { FiringCounts } from './firingCounts.js';

// Per-user feature selection by TF-IDF, the rule Sparse Memory Finetuning uses to
// pick which memory slots to update, applied to SAE features: a feature matters
// for a user when it fires often in that user's trajectories (tf) and rarely in a
// background corpus (idf), so features every text uses (syntax, common words)
// sink and user-specific ones rise. Exactly:
//
//   tf_i    = c_i / T          c_i: user tokens on which feature i fires, T: user tokens
//   idf_i   = ln((1 + N) / (1 + df_i)) + 1
//                              N: background documents, df_i: those on which feature i fires
//   score_i = tf_i * idf_i
//
// The idf is the smoothed form (as in scikit-learn): the +1 inside keeps a feature
// unseen in the background finite, and the +1 outside keeps a feature that fires
// in every background document at a small positive weight rather than zero.
// "Documents" may be background texts or background tokens (see FiringCounts);
// use the same firing threshold for user and background counts.

export interface TfidfFeature {
  feature: number;
  /** c_i: user tokens on which the feature fires. */
  count: number;
  tf: number;
  /** df_i: background documents on which it fires. */
  docFreq: number;
  idf: number;
  score: number;
}

export interface TfidfOptions {
  /** Firing threshold when the user side is given as latents (default 0). */
  firingThreshold?: number;
  /** Leave out features the user fired on fewer than this many tokens (default 1: every feature that fired). */
  minCount?: number;
}

/**
 * user: per-feature firing counts over the user's tokens ([dSae]), or
 * { latents } — the user's latent rows, [userTokens, dSae] — to count here.
 * Returns the features with count >= minCount, best score first.
 */
export function tfidfFeatures(
  user: ArrayLike<number> | { latents: Float32Array },
  userTokens: number,
  backgroundDocFreq: ArrayLike<number>,
  backgroundDocs: number,
  options: TfidfOptions = {},
): TfidfFeature[] {
  const dSae = backgroundDocFreq.length;
  if (dSae === 0) throw new RangeError('tfidfFeatures: backgroundDocFreq is empty; expected one count per SAE feature');
  if (!Number.isSafeInteger(userTokens) || userTokens < 1) throw new RangeError(`tfidfFeatures: userTokens must be a positive integer, got ${userTokens}`);
  if (!Number.isSafeInteger(backgroundDocs) || backgroundDocs < 0) throw new RangeError(`tfidfFeatures: backgroundDocs must be a non-negative integer, got ${backgroundDocs}`);
  let counts: ArrayLike<number>;
  if ('latents' in user && user.latents instanceof Float32Array) {
    counts = new FiringCounts(dSae, options.firingThreshold ?? 0).addRows(user.latents, userTokens).counts;
  } else {
    counts = user as ArrayLike<number>;
    if (counts.length !== dSae) throw new RangeError(`tfidfFeatures: ${counts.length} user counts for ${dSae} features (backgroundDocFreq); expected one count per feature`);
  }
  const minCount = options.minCount ?? 1;
  const ranked: TfidfFeature[] = [];
  for (let f = 0; f < dSae; f++) {
    const count = counts[f];
    const docFreq = backgroundDocFreq[f];
    if (count > userTokens) throw new RangeError(`tfidfFeatures: feature ${f} fired on ${count} user tokens, more than the ${userTokens} user tokens`);
    if (docFreq > backgroundDocs) throw new RangeError(`tfidfFeatures: feature ${f} fired in ${docFreq} background documents, more than the ${backgroundDocs} there are`);
    if (count < minCount) continue;
    const tf = count / userTokens;
    const idf = Math.log((1 + backgroundDocs) / (1 + docFreq)) + 1;
    ranked.push({ feature: f, count, tf, docFreq, idf, score: tf * idf });
  }
  return ranked.sort((a, b) => b.score - a.score || a.feature - b.feature);
}
