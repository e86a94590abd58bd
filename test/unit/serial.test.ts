/** The connection's queue (serial.ts): one task at a time, in call order, reads a scan waits for first. */
import { expect, it } from 'vitest';
import { Serial } from '../../src/coordinator/execute/serial.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

it('runs one task at a time, in call order, past a failing one', async () => {
  const serial = new Serial();
  const log: string[] = [];
  let running = 0;
  const task = (name: string, fail = false) =>
    serial.run(async () => {
      running++;
      expect(running).toBe(1);
      log.push(name);
      await tick();
      running--;
      if (fail) throw new Error(name);
      return name;
    });
  const results = await Promise.allSettled([task('a'), task('b', true), task('c')]);
  expect(log).toEqual(['a', 'b', 'c']);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
});

it('runs a task given to first before the tasks waiting, after the one running', async () => {
  const serial = new Serial();
  const log: string[] = [];
  const task = (name: string) => async () => {
    log.push(name);
    await tick();
  };
  const running = serial.run(task('running'));
  const waiting = [serial.run(task('append 1')), serial.run(task('append 2'))];
  await tick(); // 'running' has started
  const keys = serial.first(task('keys'));
  await Promise.all([running, ...waiting, keys]);
  expect(log).toEqual(['running', 'keys', 'append 1', 'append 2']);
});

it('runs tasks asked in one turn in their order, synchronous ones too', async () => {
  const serial = new Serial();
  const log: number[] = [];
  await Promise.all([1, 2, 3].map((n) => serial.run(() => log.push(n))));
  expect(log).toEqual([1, 2, 3]);
});
