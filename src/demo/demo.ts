export async function runDemo(_opts: { port: number; rows: number }): Promise<void> {
  throw new Error('not implemented yet');
}
