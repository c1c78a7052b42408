// The rule for names that become workflow ids and artifact paths, in a file of its own so that the CLI checks an
// `--id` without loading zod.

/**
 * Run ids, task names and run names become workflow ids and parts of artifact names (`runs/<runId>/...`): ASCII
 * letters, digits, "_", "." and "-" only, and neither "." nor "..", which would name a folder, not a part.
 */
export function isIdentifier(value: string, maxLength: number): boolean {
  return value.length <= maxLength && /^[A-Za-z0-9_.-]+$/.test(value) && value !== '.' && value !== '..';
}

/** The end of a sentence stating the rule `isIdentifier` checks. */
export const identifierRule = (maxLength: number) =>
  `must be 1 to ${maxLength} ASCII letters, digits, "_", "." or "-", and not "." or ".."`;
