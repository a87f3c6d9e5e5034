/**
 * Warnings as data: a stable code, a severity and one plain sentence. A UI renders them; a policy
 * engine reads the codes. Severity `refuse` means the request must not be signed as shown (THREATS.md
 * part C, items 52–56): the description still carries everything, so the refusal can be explained.
 */

export const WARNING_CODES = {
  UNLIMITED_APPROVAL: 'danger',
  APPROVAL_FOR_ALL: 'danger',
  TARGET_HAS_NO_CODE: 'danger',
  SPENDER_HAS_NO_CODE: 'caution',
  FIRST_INTERACTION: 'caution',
  CHAIN_MISMATCH: 'refuse',
  TYPED_DATA_NO_CHAIN_ID: 'caution',
  VERIFYING_CONTRACT_HAS_NO_CODE: 'danger',
  MESSAGE_IS_PENDING_TX_HASH: 'danger',
  MESSAGE_NOT_TEXT: 'info',
  UNKNOWN_CALL: 'caution',
  CONTRACT_CREATION: 'danger',
  CALLDATA_MALFORMED: 'refuse',
  CALLDATA_TOO_DEEP: 'refuse',
  CALLDATA_NONCANONICAL: 'caution',
  AMBIGUOUS_TOKEN_STANDARD: 'caution',
  CHAIN_READ_FAILED: 'caution',
  PERMIT2_WITNESS: 'info',
  ORIGIN_PUNYCODE: 'caution',
  ORIGIN_MIXED_SCRIPTS: 'danger',
  ORIGIN_LOOKALIKE: 'danger',
  ORIGIN_LONG_SUBDOMAIN: 'caution',
  ORIGIN_INSECURE: 'danger',
  ORIGIN_UNPARSEABLE: 'refuse',
} as const;

export type WarningCode = keyof typeof WARNING_CODES;
export type Severity = 'info' | 'caution' | 'danger' | 'refuse';

export interface Warning {
  code: WarningCode;
  severity: Severity;
  message: string;
}

export function warning(code: WarningCode, message: string): Warning {
  return { code, severity: WARNING_CODES[code], message };
}

const RANK: Record<Severity, number> = { refuse: 0, danger: 1, caution: 2, info: 3 };

/** Most severe first; duplicates (same code and sentence) collapsed. */
export function sortWarnings(list: readonly Warning[]): Warning[] {
  const seen = new Set<string>();
  const out: Warning[] = [];
  for (const w of list) {
    const key = `${w.code}\u0000${w.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(w);
  }
  return out.sort((a, b) => RANK[a.severity] - RANK[b.severity]);
}
