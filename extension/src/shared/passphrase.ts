/**
 * Passphrase policy, shared by the onboarding page (live meter) and the background (which enforces
 * it; the UI is only advice). Rules: at least 12 characters and a zxcvbn score of at least 3 of 4.
 * zxcvbn-ts estimates guesses from common passwords, dictionary words, keyboard walks, dates and
 * repeats, which is what a length-plus-character-classes rule misses.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary } from '@zxcvbn-ts/language-common';
// English messages: without them zxcvbn returns its translation keys ("similarToCommon").
import { translations } from '@zxcvbn-ts/language-en';

export const PASSPHRASE_MIN_LENGTH = 12;
export const PASSPHRASE_MIN_SCORE = 3;
/** Longer inputs are not scored (zxcvbn is superlinear) and are refused as a typing accident. */
export const PASSPHRASE_MAX_LENGTH = 1024;

export interface PassphraseAssessment {
  /** zxcvbn score 0..4. */
  score: 0 | 1 | 2 | 3 | 4;
  /** Whether the passphrase satisfies the policy. */
  acceptable: boolean;
  /** One short sentence for the user: what to fix, or why it is fine. */
  message: string;
  /** zxcvbn's suggestions, already in plain English. */
  suggestions: string[];
}

let factory: ZxcvbnFactory | undefined;
function zxcvbn(): ZxcvbnFactory {
  factory ??= new ZxcvbnFactory({ dictionary: { ...dictionary }, graphs: adjacencyGraphs, translations });
  return factory;
}

/** Scores a candidate passphrase. `userInputs` are words to penalise (e.g. "concord"). */
export function assessPassphrase(
  passphrase: string,
  userInputs: string[] = ['concord', 'wallet'],
): PassphraseAssessment {
  const length = [...passphrase].length;
  if (length === 0) {
    return { score: 0, acceptable: false, message: 'Choose a passphrase.', suggestions: [] };
  }
  if (length > PASSPHRASE_MAX_LENGTH) {
    return { score: 0, acceptable: false, message: 'That passphrase is too long.', suggestions: [] };
  }
  const r = zxcvbn().check(passphrase, userInputs);
  const score = r.score as PassphraseAssessment['score'];
  const suggestions = r.feedback.suggestions.filter((s) => s.length > 0);
  if (length < PASSPHRASE_MIN_LENGTH) {
    return {
      score,
      acceptable: false,
      message: `Use at least ${PASSPHRASE_MIN_LENGTH} characters (${PASSPHRASE_MIN_LENGTH - length} more).`,
      suggestions,
    };
  }
  if (score < PASSPHRASE_MIN_SCORE) {
    return {
      score,
      acceptable: false,
      message: r.feedback.warning || 'Too easy to guess. Add more uncommon words.',
      suggestions,
    };
  }
  return {
    score,
    acceptable: true,
    message: score === 4 ? 'Strong passphrase.' : 'Good passphrase.',
    suggestions: [],
  };
}
