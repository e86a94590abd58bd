/**
 * A server process keeps serving after a promise rejection nothing handled, and logs it
 * (src/stray-rejections.ts): run in a process of its own, as Node's default would end it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('logs a stray rejection with its reason and the process goes on', async () => {
  const script = `
    const { logStrayRejections } = await import(${JSON.stringify(new URL('../../dist/stray-rejections.js', import.meta.url).href)});
    const { createLogger } = await import(${JSON.stringify(new URL('../../dist/log.js', import.meta.url).href)});
    logStrayRejections(createLogger('test'));
    Promise.reject(new Error('a scan nobody awaited failed'));
    setTimeout(() => console.log('still serving'), 100);
  `;
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script]);
  const out = stdout + stderr;
  expect(out).toMatch(/still serving/);
  expect(out).toMatch(/a promise rejection was not handled; serving on/);
  expect(out).toMatch(/a scan nobody awaited failed/);
});

it('without it, the same rejection ends the process (what the handler prevents)', async () => {
  const script = `Promise.reject(new Error('x')); setTimeout(() => console.log('still serving'), 100);`;
  const failed = await run(process.execPath, ['--input-type=module', '-e', script]).catch(
    (err: { code: number; stdout: string }) => err,
  );
  expect((failed as { code: number }).code).not.toBe(0);
  expect((failed as { stdout: string }).stdout).not.toMatch(/still serving/);
});
