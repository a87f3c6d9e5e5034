/**
 * Passphrase strength for backups (THREATS D74), outside the protocol core: it pulls zxcvbn-ts and
 * its common dictionaries (~1 MB), which the service worker's signing path must not load. Import it
 * from the UI and from tools, through its own entry point.
 *
 * Policy (OWASP Authentication Cheat Sheet / NIST SP 800-63B: length first, a blocklist of known and
 * guessable passwords rather than composition rules): at least `MIN_PASSPHRASE_LENGTH` characters and
 * a zxcvbn score of at least 3 ("safely unguessable: moderate protection from an offline slow-hash
 * attack", ≥ 10^8 guesses). scrypt then makes each guess cost ~0.6 s of CPU and 128 MiB.
 *
 * Runs offline: the dictionaries ship with the package; nothing is fetched.
 */
import { ZxcvbnFactory, type ZxcvbnResult } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary } from '@zxcvbn-ts/language-common';
import { MIN_PASSPHRASE_LENGTH } from './backup.ts';
import { BackupError } from './errors.ts';

export { MIN_PASSPHRASE_LENGTH };
export const MIN_ZXCVBN_SCORE = 3;

/** English text for zxcvbn-ts's feedback keys (the language-en package is not a dependency). */
const WARNINGS: Record<string, string> = {
  straightRow: 'Straight rows of keys on your keyboard are easy to guess.',
  keyPattern: 'Short keyboard patterns are easy to guess.',
  simpleRepeat: 'Repeated characters like "aaa" are easy to guess.',
  extendedRepeat: 'Repeated character patterns like "abcabcabc" are easy to guess.',
  sequences: 'Common character sequences like "abc" are easy to guess.',
  recentYears: 'Recent years are easy to guess.',
  dates: 'Dates are easy to guess.',
  topTen: 'This is a heavily used password.',
  topHundred: 'This is a frequently used password.',
  common: 'This is a commonly used password.',
  similarToCommon: 'This is similar to a commonly used password.',
  wordByItself: 'Single words are easy to guess.',
  namesByThemselves: 'Single names or surnames are easy to guess.',
  commonNames: 'Common names and surnames are easy to guess.',
  userInputs: 'There should not be any personal or page-related data.',
  pwned: 'Your password was exposed by a data breach on the Internet.',
};
const SUGGESTIONS: Record<string, string> = {
  l33t: "Avoid predictable letter substitutions like '@' for 'a'.",
  reverseWords: 'Avoid reversed spellings of common words.',
  allUppercase: 'Capitalize some, but not all letters.',
  capitalization: 'Capitalize more than the first letter.',
  dates: 'Avoid dates and years that are associated with you.',
  recentYears: 'Avoid recent years.',
  associatedYears: 'Avoid years that are associated with you.',
  sequences: 'Avoid common character sequences.',
  repeated: 'Avoid repeated words and characters.',
  longerKeyboardPattern: 'Use longer keyboard patterns and change typing direction multiple times.',
  anotherWord: 'Add more words that are less common.',
  useWords: 'Use multiple words, but avoid common phrases.',
  noNeed: 'You can create strong passwords without using symbols, numbers, or uppercase letters.',
  pwned: 'If you use this password elsewhere, you should change it.',
};

let factory: ZxcvbnFactory | undefined;
function zxcvbn(): ZxcvbnFactory {
  // Built lazily: ranking the dictionaries takes a moment and only the backup screen needs it.
  factory ??= new ZxcvbnFactory({ dictionary: { ...dictionary }, graphs: adjacencyGraphs, maxLength: 256 });
  return factory;
}

export interface PassphraseStrength {
  ok: boolean;
  /** zxcvbn score 0..4. */
  score: number;
  length: number;
  /** Human-readable reasons and suggestions (English), empty when ok. */
  feedback: string[];
}

/**
 * Rate a passphrase. `userInputs` are words the passphrase must not lean on (wallet name, e-mail,
 * party label): zxcvbn treats them as a dictionary.
 */
export function checkPassphraseStrength(
  passphrase: string,
  userInputs: readonly string[] = [],
): PassphraseStrength {
  const length = [...passphrase.normalize('NFKC')].length;
  const result: ZxcvbnResult = zxcvbn().check(passphrase, [...userInputs]);
  const feedback: string[] = [];
  if (length < MIN_PASSPHRASE_LENGTH)
    feedback.push(`Use at least ${MIN_PASSPHRASE_LENGTH} characters (this has ${length}).`);
  if (result.score < MIN_ZXCVBN_SCORE) {
    feedback.push(
      `Too easy to guess (strength ${result.score} of 4; at least ${MIN_ZXCVBN_SCORE} is required).`,
    );
    const w = result.feedback.warning;
    if (w) feedback.push(WARNINGS[w] ?? w);
    for (const s of result.feedback.suggestions) feedback.push(SUGGESTIONS[s] ?? s);
    if (result.feedback.suggestions.length === 0) feedback.push(SUGGESTIONS.useWords!);
  }
  return { ok: feedback.length === 0, score: result.score, length, feedback };
}

/** Throw `WEAK_PASSPHRASE` (with feedback in `details`) unless the passphrase meets the policy. */
export function assertStrongPassphrase(passphrase: string, userInputs: readonly string[] = []): void {
  const s = checkPassphraseStrength(passphrase, userInputs);
  if (!s.ok) {
    throw new BackupError('WEAK_PASSPHRASE', `passphrase is too weak: ${s.feedback.join(' ')}`, {
      details: s.feedback,
    });
  }
}
