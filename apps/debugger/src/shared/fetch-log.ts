/**
 * Fetch a log and decode it as its bytes arrive (LogStreamReader): the decode of a 60 MB
 * log overlaps its download instead of following it. A file the stream reader refuses
 * (damage, a cut tail, salvage asked for) is decoded again whole by decodeLogFile, so
 * its errors and its salvage are exactly those of a file opened from disk.
 */
import { LogStreamReader, decodeLogFile, type ReadLogResult } from '@mmsim/core';

export interface FetchedLog {
  readonly result: ReadLogResult;
  /** ms spent decoding (not waiting for bytes) */
  readonly decodeMs: number;
  readonly bytes: number;
}

export interface ReadOptions {
  salvage?: boolean;
  file?: string;
  /** 'checksums': the chunks' decode checks wait for the first replay (ReadLogOptions.verify) */
  verify?: 'full' | 'checksums';
}

/** Decode a log from its bytes in pieces (as a download delivers them). */
export async function decodeStreamed(pieces: AsyncIterable<Uint8Array>, opts: ReadOptions = {}): Promise<FetchedLog> {
  // a download's pieces are fresh buffers, never reused: the chunks are views of them
  const reader = new LogStreamReader({ file: opts.file, keepPieces: true, verify: opts.verify });
  const parts: Uint8Array[] = [];
  let size = 0;
  let streaming = !opts.salvage;
  let decodeMs = 0;
  for await (const p of pieces) {
    parts.push(p);
    size += p.length;
    if (!streaming) continue;
    const t = performance.now();
    try {
      reader.push(p);
    } catch {
      streaming = false;
    }
    decodeMs += performance.now() - t;
  }
  const t = performance.now();
  if (streaming) {
    try {
      const result = reader.end();
      return { result, decodeMs: decodeMs + performance.now() - t, bytes: size };
    } catch {
      // fall through: the whole file, decoded as from disk, says what is wrong
    }
  }
  const all = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const result = decodeLogFile(all, { salvage: opts.salvage, file: opts.file, verify: opts.verify });
  return { result, decodeMs: decodeMs + performance.now() - t, bytes: size };
}

/** fetch() a log URL and decode it while it downloads. */
export async function fetchLog(url: string, opts: ReadOptions = {}): Promise<FetchedLog> {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok || !res.body) throw new Error(`could not fetch ${url}: HTTP ${res.status} ${res.statusText}`);
  return decodeStreamed(bodyPieces(res.body), opts);
}

async function* bodyPieces(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const r = body.getReader();
  for (;;) {
    const { done, value } = await r.read();
    if (done) return;
    if (value && value.length) yield value;
  }
}
