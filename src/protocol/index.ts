/**
 * The Worker <-> Master protocol, shared by the worker's link (src/link) and the reference Master
 * (src/master): the .proto loader and its generated types, wire conversions (modes, uint64),
 * chunking and the batching both sides use. Neither side imports the other's internals.
 */
export { Batcher } from './batcher.ts';
export { LOADER_OPTIONS, linkProto, PROTO_DIR, PROTO_FILE } from './proto.ts';
export { type U64, u64, u64Number, u64NumberOrUndefined } from './uint64.ts';
export * from './wire.ts';
