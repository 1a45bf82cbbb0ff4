/**
 * Reads configuration from the environment once, at module load, and fails loudly when it is missing:
 * a Lambda deployed without its configuration must not start a benchmark half-configured.
 */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === "") {
    throw new Error(`Missing required environment variable ${name}`);
  }
  return value;
}
