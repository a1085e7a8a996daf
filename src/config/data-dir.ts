import { resolve } from 'node:path';

/** The folder that holds the embedded database and the development JWT secret (git-ignored). */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.DATA_DIR || 'data');
}
