/** What zod found wrong, as one line: each issue after its path, or `whole` for the value itself. */
import type { z } from 'zod';

type Issue = { path: PropertyKey[]; message: string; code?: string; errors?: Issue[][] };

/**
 * A union none of whose branches matched says why through the branch that got furthest into
 * the value (the one meant), not "Invalid input".
 */
function specific(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union' || !issue.errors?.length) return [issue];
  const depth = (branch: Issue[]) => Math.max(...branch.map((i) => i.path.length));
  const meant = issue.errors.reduce((best, branch) => (depth(branch) > depth(best) ? branch : best));
  return meant.flatMap((i) => specific({ ...i, path: [...issue.path, ...i.path] }));
}

export function issuesText(error: z.ZodError, whole: string): string {
  return (error.issues as Issue[])
    .flatMap(specific)
    .map((i) => `${i.path.join('.') || whole}: ${i.message}`)
    .join('; ');
}
