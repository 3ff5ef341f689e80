export { ALIAS_NAME, type Alias, type FunctionRef, LATEST, parseRef } from './aliases.ts';
export { BlobStore, sha256 } from './blob-store.ts';
export { canonicalJson } from './canonical-json.ts';
export { aliasesOf, aliasOf, deleteAlias, rollback, setAlias } from './promote.ts';
export {
  type Deployment,
  type FunctionVersion,
  parseManifest,
  Registry,
  type RegistryOptions,
  type StoreResult,
} from './registry.ts';
