import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CRYPT_KEY_FILE, readEmbeddedCryptKey } from '../store/crypt-key.ts';
import type { Settings } from './settings.ts';

/*
 * The embedded mode generates two files into the data dir at first start: the crypt key (store/crypt-key.ts) and
 * the API token (commands/start.ts). Settings name them as the origin of those values.
 */

export const API_TOKEN_FILE = 'api-token';

export function apiTokenFile(dataDir: string): string {
  return path.join(dataDir, API_TOKEN_FILE);
}

/** The API token a previous start generated, if any; read only, never created. */
export async function readGeneratedApiToken(dataDir: string): Promise<string | undefined> {
  try {
    const token = (await readFile(apiTokenFile(dataDir), 'utf8')).trim();
    return token === '' ? undefined : token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The settings with what the data dir holds for values nothing else set (the generated crypt key and API token),
 * each with its file as origin. Creates nothing: `doctor` describes an install without changing it.
 */
export async function withGeneratedFiles(settings: Settings): Promise<Settings> {
  const [cryptKey, apiToken] = await Promise.all([
    settings.cryptKeys === undefined ? readEmbeddedCryptKey(settings.dataDir) : undefined,
    settings.apiToken === undefined ? readGeneratedApiToken(settings.dataDir) : undefined,
  ]);
  const origins = { ...settings.origins };
  const originFiles = { ...settings.originFiles };
  if (cryptKey !== undefined) {
    origins.cryptKeys = 'generated';
    originFiles.cryptKeys = path.join(settings.dataDir, CRYPT_KEY_FILE);
  }
  if (apiToken !== undefined) {
    origins.apiToken = 'generated';
    originFiles.apiToken = apiTokenFile(settings.dataDir);
  }
  return {
    ...settings,
    ...(cryptKey !== undefined ? { cryptKeys: [cryptKey] } : {}),
    ...(apiToken !== undefined ? { apiToken } : {}),
    origins,
    originFiles,
  };
}
