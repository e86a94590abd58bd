/**
 * The demo's children as one unit: started in tiers, stopped in reverse tier order, and any
 * child that dies before the demo is stopping aborts `failed` (startup waits fail with that
 * child's last output; once running, the demo stops everything).
 */
import { type Child, type SpawnOptions, spawnChild } from './children.js';

/** Stop order: the coordinator first, then the data containers, then NATS and S3. */
export type Tier = 'infra' | 'table' | 'coordinator';
const STOP_ORDER: Tier[] = ['coordinator', 'table', 'infra'];

export class Supervisor {
  readonly failed = new AbortController();
  private readonly children: { tier: Tier; child: Child }[] = [];
  private stopping: Promise<void> | undefined;

  async start(tier: Tier, options: SpawnOptions): Promise<Child> {
    if (this.stopping) throw new Error('the demo is stopping');
    const child = await spawnChild(options);
    this.children.push({ tier, child });
    if (this.stopping) await child.stop();
    child.exited.then((how) => {
      if (!this.stopping) {
        this.failed.abort(new Error(`${child.name} stopped (${how}); its last output:\n${child.tail()}`));
      }
    });
    return child;
  }

  /**
   * Polls `ready` until it returns true. Fails as soon as any child died, or when `timeoutMs`
   * passes (with `child`'s last output).
   */
  async waitFor(child: Child, what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      this.failed.signal.throwIfAborted();
      if (await ready()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `${child.name} did not get ready (${what}) within ${timeoutMs / 1000} s; its last output:\n${child.tail()}`,
    );
  }

  /** Stops every child (idempotent), then runs `after`. */
  stopAll(after: () => Promise<void>): Promise<void> {
    this.stopping ??= (async () => {
      for (const tier of STOP_ORDER) {
        await Promise.all(this.children.filter((c) => c.tier === tier).map((c) => c.child.stop()));
      }
      await after();
    })();
    return this.stopping;
  }
}
