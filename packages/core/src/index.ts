/**
 * @mmsim/core: the event-sourced engine. Explicit named exports only; anything not
 * listed here is internal.
 */
export {
  EVENT_SCHEMA,
  EVENT_TYPE_COUNT,
  E,
  T,
  AvCounter,
  FolioCounter,
  MappingKind,
  ROLE_DOC,
  STR_ROLE_DOC,
  eventSchema,
  eventTypeId,
  eventTypeName,
  fromEvent,
  newRawEvent,
  toEvent,
} from './events.js';
export type { EmitArgs, EventEnvelope, EventOf, EventTypeName, FieldRole, LockKind, MmEvent, RawEvent, StrRole } from './events.js';
export { EVENT_TOUCHES, STRUCTURE_EVENT, TOUCH_BIT, TOUCH_NAMES, TOUCH_WRITES, VPN_ROLE, slotValue, touchCoversVpn, touchPages, touchesId } from './touches.js';
export type { Touch, TouchKind } from './touches.js';

export * from './state.js';
export { MapleTree, MapleNode, MAPLE_NODE_SLOTS, mapleWork } from './maple.js';
export { IdTable, IdNode } from './idtable.js';
export {
  findVmaRank,
  mtFindVma,
  mtFindVmaPrev,
  mtForEachVmaInRange,
  mtVmaIdsInRange,
  mtVmaNext,
  mtVmaPrev,
  mtVmaStartingFrom,
} from './vmaiter.js';
export type { VmaById } from './vmaiter.js';

export { apply, applyMany, applyToDraft, batchFolio, batchLock, batchLocks, batchMm, batchPageFolio, batchSpans, finishBatch, newBatch, ReplayError } from './reducer.js';
export type { Batch } from './reducer.js';

export { CHUNK_EVENTS, CodecError, crc32 } from './codec.js';
export type { Registers } from './codec.js';
export { EventLog, LogCursor, decodeChunk } from './log.js';
export type { DeferredChecks, LogMark } from './log.js';
export type { SealedChunk } from './log.js';
export {
  LOG_FORMAT_CHAINED,
  LOG_FORMAT_OLDEST,
  LOG_FORMAT_VERSION,
  LOG_MAGIC,
  LogFileError,
  encodeChunk,
  encodeHeader,
  encodeLogFile,
  encodeTrailer,
  logNonce,
  streamLog,
} from './file.js';
export type { LogHeader, LogSink, LogStreamWriter } from './file.js';
export { LogStreamReader, V1_WARNING, decodeLogFile } from './file-read.js';
export type { LogDamage, ReadLogOptions, StreamReadOptions, ReadLogResult } from './file-read.js';
export { sealLogFile, splitLogFile } from './file-edit.js';
export { FollowError, LogFollower } from './file-follow.js';
export type { FollowedLog } from './file-follow.js';
export type { LogFileChunk, LogFileParts } from './file-edit.js';

export { Engine, ENGINE_SUBSCRIBER } from './engine.js';
export type { EngineMark, EngineOptions, RawListener, SpanNotice, TouchHook } from './engine.js';
export { ACCESS } from './engine.js';

export { ABORT, BLOCKED, POINT, DeadlockError, finished, interleave, prng, runTask, schedule } from './sched.js';
export type { Chooser, KGen, SchedTask } from './sched.js';

export { LogReplayer } from './replayer.js';
export type { LogReplayerOptions } from './replayer.js';
export { Keyframes, TimeTravel, buildSpanIndex, replay, replayRange } from './timetravel.js';
export type { SpanIndex, StepUnit } from './timetravel.js';
export { diffStates } from './diff.js';
export type { StateDiff } from './diff.js';

export {
  PluginConflictError,
  PluginError,
  PluginRegistry,
  callPlugin,
  defineExtensionPoint,
  definePlugin,
  describeThrown,
  isInstance,
} from './plugins.js';
export type { ExtensionPoint, Plugin, PluginHost, ProvideOptions } from './plugins.js';

export const MMSIM_VERSION = '0.1.0';
export { MADVISE_ADVICE, MLOCKALL_FLAG_BITS, MLOCK_ONFAULT, MPOL_MODES, MREMAP_FLAG_BITS, PRCTL_OPTION } from './uapi.js';
