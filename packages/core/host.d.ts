/**
 * The host globals the libraries use, which browsers and Node both have: WHATWG
 * Encoding's TextEncoder/TextDecoder and High Resolution Time's performance.now().
 * The libraries compile against ES2022 alone (no DOM, no Node types: their
 * tsconfig.json), with this file, so that they cannot start to need either host;
 * the workspace's own tsconfigs (DOM and Node) never include it.
 */
declare class TextEncoder {
  readonly encoding: string;
  encode(input?: string): Uint8Array;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  readonly encoding: string;
  readonly fatal: boolean;
  decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string;
}

declare const performance: { now(): number };
