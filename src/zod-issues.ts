/** What zod found wrong, as one line: each issue after its path, or `whole` for the value itself. */
import type { z } from 'zod';

export function issuesText(error: z.ZodError, whole: string): string {
  return error.issues.map((i) => `${i.path.join('.') || whole}: ${i.message}`).join('; ');
}
