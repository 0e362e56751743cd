/**
 * A stand-in for Slack's Socket Mode gateway: a WebSocket server on 127.0.0.1 that greets a client
 * with `hello` and sends it envelopes (slash_commands, interactive, events_api) the way Slack does,
 * waiting for each ack by envelope id. `SocketModeDeliverer` reuses the sandbox's payload builders
 * (`Deliverer`), so the same slash commands, clicks and events reach the bot over either transport.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { Deliverer, type DeliverOptions, type Delivery, type SendOptions } from '../../src/sandbox/deliver.ts';

type Json = Record<string, unknown>;
export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export class FakeSocketMode {
  private readonly clients = new Set<WebSocket>();
  private readonly pending = new Map<string, (ack: Json) => void>();
  /** Every frame a client sent (acks, and anything else), parsed. */
  readonly received: Json[] = [];
  /** Connections made so far (a reconnect counts again). */
  connections = 0;

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {
    wss.on('connection', (ws) => {
      this.connections++;
      this.clients.add(ws);
      ws.on('close', () => this.clients.delete(ws));
      ws.on('message', (data) => {
        let frame: Json;
        try {
          frame = JSON.parse(String(data)) as Json;
        } catch {
          return;
        }
        this.received.push(frame);
        const id = typeof frame.envelope_id === 'string' ? frame.envelope_id : undefined;
        if (id) this.pending.get(id)?.(frame);
      });
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: this.clients.size,
          debug_info: { host: 'applink-fake', build_number: 1, approximate_connection_time: 18060 },
          connection_info: { app_id: 'A0ADCREATIVE' },
        }),
      );
    });
  }

  static async start(): Promise<FakeSocketMode> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', () => resolve());
      wss.once('error', reject);
    });
    const { port } = wss.address() as AddressInfo;
    return new FakeSocketMode(wss, `ws://127.0.0.1:${port}/link/?ticket=fake`);
  }

  get connected(): number {
    return this.clients.size;
  }

  /** Sends one envelope to the (single) connected client and resolves with its ack frame. */
  async send(type: EnvelopeType, payload: Json, opts: { retryAttempt?: number; timeoutMs?: number } = {}): Promise<Json> {
    const [ws] = this.clients;
    if (!ws) throw new Error('no Socket Mode client is connected');
    const envelope_id = randomUUID();
    const acked = new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelope_id);
        reject(new Error(`envelope ${type} was not acked within ${opts.timeoutMs ?? 5000} ms`));
      }, opts.timeoutMs ?? 5000);
      this.pending.set(envelope_id, (ack) => {
        clearTimeout(timer);
        this.pending.delete(envelope_id);
        resolve(ack);
      });
    });
    const envelope: Json = { envelope_id, type, payload, accepts_response_payload: type !== 'events_api' };
    if (type === 'events_api')
      Object.assign(envelope, { retry_attempt: opts.retryAttempt ?? 0, retry_reason: opts.retryAttempt ? 'timeout' : '' });
    ws.send(JSON.stringify(envelope));
    return acked;
  }

  /** Asks the client to reconnect, as Slack does before it recycles a connection. */
  refresh(): void {
    for (const ws of this.clients)
      ws.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'applink-fake' } }));
  }

  async close(): Promise<void> {
    for (const ws of this.clients) ws.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

/**
 * The sandbox's deliverer over Socket Mode: each HTTP body it builds becomes the envelope Slack
 * would send instead (form fields → slash_commands, `payload=` → interactive, JSON → events_api).
 */
export class SocketModeDeliverer extends Deliverer {
  constructor(
    private readonly socket: FakeSocketMode,
    opts: Omit<DeliverOptions, 'url' | 'signingSecret'>,
  ) {
    super({ ...opts, url: socket.url, signingSecret: 'unused-in-socket-mode' });
  }

  override async send(body: string, contentType: string, opts: SendOptions = {}): Promise<Delivery> {
    const started = performance.now();
    let type: EnvelopeType;
    let payload: Json;
    if (contentType.includes('json')) {
      type = 'events_api';
      payload = JSON.parse(body) as Json;
    } else {
      const form = new URLSearchParams(body);
      const interactive = form.get('payload');
      type = interactive ? 'interactive' : 'slash_commands';
      payload = interactive ? (JSON.parse(interactive) as Json) : Object.fromEntries(form);
    }
    const ack = await this.socket.send(type, payload, { retryAttempt: opts.retryNum });
    const json = ack.payload;
    return {
      status: 200,
      body: json === undefined ? '' : JSON.stringify(json),
      json,
      ms: performance.now() - started,
      sent: { body, contentType },
    };
  }
}
