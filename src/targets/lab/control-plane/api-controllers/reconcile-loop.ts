/**
 * The loop every lab controller runs, as a controller-runtime work queue does in spirit:
 * a pass is queued on any change of the resource types it follows (one shared informer
 * each) and at a periodic resync; changes that arrive together coalesce into one pass
 * after a short debounce, and passes never overlap.
 */
import type { SharedInformers } from '../informers.js';

export interface ReconcileLoopOptions {
  informers: SharedInformers;
  /** Collection paths whose changes queue a pass. */
  paths: readonly string[];
  /** One reconcile pass; its errors are the caller's to log. */
  pass: () => Promise<void>;
  debounceMs?: number;
  resyncMs?: number;
}

export class ReconcileLoop {
  private running: Promise<void> = Promise.resolve();
  private queued = false;
  private stoppedFlag = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ReconcileLoopOptions) {}

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  async start(): Promise<void> {
    const kick = () => this.kick();
    await Promise.all(this.o.paths.map((p) => this.o.informers.subscribe(p, kick)));
    const tick = () => {
      if (this.stoppedFlag) return;
      this.kick();
      this.timer = setTimeout(tick, this.o.resyncMs ?? 5_000);
    };
    this.timer = setTimeout(tick, this.o.resyncMs ?? 5_000);
    this.kick();
  }

  async stop(): Promise<void> {
    this.stoppedFlag = true;
    clearTimeout(this.timer);
    await this.running;
  }

  kick(): void {
    if (this.queued || this.stoppedFlag) return;
    this.queued = true;
    this.running = this.running.then(async () => {
      await new Promise((r) => setTimeout(r, this.o.debounceMs ?? 30));
      this.queued = false;
      await this.o.pass();
    });
  }
}
