/** The ConfigError `parseConfig` throws for `raw` (the config tests check its message and key). */
import { ConfigError, parseConfig } from '../../src/config/load.ts'

export function configFailure(raw: unknown, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseConfig(raw, '/tmp', env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('parseConfig accepted it')
}
