/** What the kernel says of a process (Linux /proc): resident memory and CPU time. */
import { readFile } from 'node:fs/promises';

async function statusField(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** The most memory the process has held at once so far, in MB. */
export const peakRssMb = (pid: number) => statusField(pid, 'VmHWM');

/** The memory the process holds now, in MB. */
export const rssMb = (pid: number) => statusField(pid, 'VmRSS');

/** User plus system CPU time of the process, in clock ticks (1/100 s on Linux). */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state, field 3; utime is 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
