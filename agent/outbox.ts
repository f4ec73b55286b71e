import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiAnswer, ApiClient } from './api-client.js';
import type { AgentState } from './state.js';
import { coalesceReports } from '../lib/domain/report-coalescing.js';

/** Done once the server accepted the report, and again if the agent restarts before it is noted (so idempotent). */
export interface AcceptedEffect {
  recordSuccess?: { groupId: string; deploymentId: string; bundleRoot: string };
}

interface Stored {
  id: string;
  body: Record<string, unknown>;
  attempts: number;
  then?: AcceptedEffect;
}

export type Delivery =
  | { kind: 'accepted'; answer: ApiAnswer }
  /** A terminal 4xx: the server will never take this report; it is dropped. */
  | { kind: 'refused'; answer: ApiAnswer }
  /** The agent is shutting down: the report stays in the outbox for the next start. */
  | { kind: 'kept' };

export interface OutboxOptions {
  send: (body: Record<string, unknown>) => Promise<ApiAnswer>;
  /** Runs an accepted report's effect (before the report leaves the outbox). */
  apply: (effect: AcceptedEffect) => Promise<void>;
  /** How many of the leading queued bodies can go as one request, and that request's body (default: one at a time). */
  coalesce?: (bodies: Record<string, unknown>[]) => { body: unknown; count: number };
  log?: (line: string) => void;
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
}

/** Worth another try: the server (or the way to it) failed, not the report. */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * The host's durable queue of reports. A report is on disk before it is sent
 * and leaves only when the server accepted it or refused it for good (a 4xx);
 * failures are retried with jittered exponential backoff, also after the agent
 * restarts (`flush` at start-up). Reports go out in the order written, one
 * request at a time: those queued behind the request in flight go together in
 * the next one when `coalesce` allows.
 */
export class Outbox {
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private sequence = 0;
  /** Deliveries run one after another. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Reports reach the disk one after another, in the order they were added. */
  private adding: Promise<unknown> = Promise.resolve();
  /** Reports this process added whose caller has not yet heard how they fared. */
  private readonly unheard = new Set<string>();
  /** How such a report fared when it went out with another one. */
  private readonly settled = new Map<string, Delivery>();

  constructor(
    readonly dir: string,
    private readonly options: OutboxOptions,
  ) {
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.random = options.random ?? Math.random;
  }

  /** Persists a report; `then` runs once the server has accepted it. */
  async add(body: Record<string, unknown>, then?: AcceptedEffect): Promise<string> {
    // The id is taken now and the write waits for the earlier ones: the queue's
    // order is the callers' order, and no report is on disk before one added earlier.
    const id = `${Date.now().toString().padStart(15, '0')}-${String(this.sequence++).padStart(6, '0')}-${randomUUID()}`;
    this.unheard.add(id);
    const written = this.adding.then(async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await this.write({ id, body, attempts: 0, ...(then ? { then } : {}) });
    });
    this.adding = written.catch(() => undefined);
    try {
      await written;
    } catch (error) {
      this.unheard.delete(id);
      throw error;
    }
    return id;
  }

  /** Adds a report and delivers everything queued up to and including it. */
  async send(body: Record<string, unknown>, signal: AbortSignal, then?: AcceptedEffect): Promise<Delivery> {
    return this.deliverThrough(await this.add(body, then), signal);
  }

  /** Delivers everything queued up to and including report `id` (and what can go in the same request); how `id` fared. */
  deliverThrough(id: string, signal: AbortSignal): Promise<Delivery> {
    return this.serially(async () => {
      for (;;) {
        const settled = this.settled.get(id);
        if (settled) {
          this.settled.delete(id);
          this.unheard.delete(id);
          return settled;
        }
        const sent = await this.deliverNext(await this.pending(), signal);
        if (sent.delivery.kind === 'kept') return sent.delivery;
      }
    });
  }

  /** Delivers every queued report (at start-up: what an earlier run could not). */
  flush(signal: AbortSignal): Promise<number> {
    return this.serially(async () => {
      let delivered = 0;
      for (let queued = await this.pending(); queued.length > 0; queued = await this.pending()) {
        const sent = await this.deliverNext(queued, signal);
        if (sent.delivery.kind === 'kept') break;
        delivered += sent.ids.length;
      }
      return delivered;
    });
  }

  async pending(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Sends the first queued report, with those after it that can go in the same
   * request, until the server answers for good or `signal` aborts.
   */
  private async deliverNext(queued: string[], signal: AbortSignal): Promise<{ ids: string[]; delivery: Delivery }> {
    if (queued.length === 0) return { ids: [], delivery: { kind: 'kept' } };
    const stored = await Promise.all(queued.map(async (id) => JSON.parse(await readFile(this.file(id), 'utf8')) as Stored));
    const joined = this.options.coalesce?.(stored.map((s) => s.body)) ?? { body: stored[0]?.body, count: 1 };
    const group = stored.slice(0, Math.max(1, joined.count));
    const first = group[0] as Stored;
    const body = joined.body as Record<string, unknown>;
    const ids = group.map((s) => s.id);
    while (!signal.aborted) {
      let answer: ApiAnswer | undefined;
      let why: string;
      try {
        answer = await this.options.send(body);
        why = `HTTP ${answer.status}`;
      } catch (error) {
        why = (error as Error).message;
      }
      if (answer && !retryable(answer.status)) {
        const accepted = answer.status < 400;
        if (accepted) for (const { then } of group) if (then) await this.options.apply(then);
        if (!accepted) this.options.log?.(`report ${describe(body)} refused for good: HTTP ${answer.status} ${JSON.stringify(answer.body?.error?.message ?? '')}`);
        // In order: a crash half-way leaves the later ones, which the server answers as repeats.
        for (const id of ids) await rm(this.file(id), { force: true });
        const delivery: Delivery = { kind: accepted ? 'accepted' : 'refused', answer };
        for (const id of ids) if (this.unheard.has(id)) this.settled.set(id, delivery);
        return { ids, delivery };
      }
      first.attempts++;
      await this.write(first);
      const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(first.attempts - 1, 16)) * (0.5 + this.random() / 2);
      this.options.log?.(`report ${describe(body)} not delivered (${why}); attempt ${first.attempts}, next in ${Math.round(delay)} ms`);
      await sleep(delay, signal);
    }
    return { ids, delivery: { kind: 'kept' } };
  }

  private file(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  /** Write, then rename: an agent crash leaves the old record or the new one, never half of one. */
  private async write(stored: Stored): Promise<void> {
    const temp = `${this.file(stored.id)}.tmp`;
    await writeFile(temp, JSON.stringify(stored), { mode: 0o600 });
    await rename(temp, this.file(stored.id));
  }
}

/** "d-… BeforeInstall Succeeded, AfterInstall started" (or an older agent's one event). */
function describe(body: Record<string, unknown>): string {
  if (!Array.isArray(body.done)) return `${String(body.deploymentId)} ${String(body.event)} ${String(body.status)}`;
  const running = body.running as { event?: unknown } | undefined;
  const events = [...(body.done as { event?: unknown; status?: unknown }[]).map((d) => `${String(d.event)} ${String(d.status)}`), ...(running ? [`${String(running.event)} started`] : [])];
  return `${String(body.deploymentId)} ${events.join(', ')}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The agent's outbox: reports to POST /agent/v1/report; an accepted final report records the group's last success. */
export function reportOutbox(api: ApiClient, state: AgentState, log?: (line: string) => void): Outbox {
  return new Outbox(join(state.dir, 'outbox'), {
    send: (body) => api.post('/agent/v1/report', body),
    coalesce: coalesceReports,
    apply: async ({ recordSuccess }) => {
      if (recordSuccess) await state.recordSuccess(recordSuccess.groupId, recordSuccess);
    },
    ...(log ? { log } : {}),
  });
}
