export { BlobStore, sha256 } from './blob-store.ts';
export { canonicalJson } from './canonical-json.ts';
export { type Deployment, type FunctionVersion, parseManifest, Registry, type RegistryOptions } from './registry.ts';
