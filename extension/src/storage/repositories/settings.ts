/**
 * Repository for settings. Stored as one validated row; reading falls back to defaults for a fresh
 * profile and to defaults-merged-with-what-validates if a stored row is from an older shape.
 */
import * as v from 'valibot';
import { ExtensionError } from '../../shared/errors.ts';
import { defaultSettings, type Settings, type SettingsPatch, SettingsSchema } from '../../shared/settings.ts';
import type { ConcordDb } from '../db.ts';

const KEY = 'general';

export function validateSettings(candidate: unknown): Settings {
  const r = v.safeParse(SettingsSchema, candidate);
  if (!r.success) {
    throw new ExtensionError('INVALID_SETTINGS', r.issues[0]?.message ?? 'Those settings are not valid.');
  }
  return r.output;
}

export class SettingsRepository {
  constructor(private readonly db: ConcordDb) {}

  async get(): Promise<Settings> {
    const row = await this.db.settings.get(KEY);
    if (row === undefined) return defaultSettings();
    const r = v.safeParse(SettingsSchema, { ...defaultSettings(), ...(row.value as object) });
    return r.success ? r.output : defaultSettings();
  }

  /** Merges `patch` over the stored settings, validates the result and stores it. */
  async update(patch: SettingsPatch): Promise<Settings> {
    return this.db.transaction('rw', this.db.settings, async () => {
      const next = validateSettings({ ...(await this.get()), ...patch });
      await this.db.settings.put({ key: KEY, value: next });
      return next;
    });
  }
}
