/**
 * The debugger's Web Worker: decode, time travel and indexes live here, off the main
 * thread. The page talks to it with the messages of shared/protocol.ts.
 */
import { createHandler } from './shared/handler.js';
import type { RequestEnvelope, ResponseEnvelope } from './shared/protocol.js';

interface WorkerScope {
  postMessage(msg: ResponseEnvelope): void;
  onmessage: ((ev: MessageEvent<RequestEnvelope>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const handler = createHandler((msg) => scope.postMessage(msg));
scope.onmessage = (ev) => handler.onMessage(ev.data);
