export { type AddressClass, FORBIDDEN_RANGES, forbiddenClassOf } from './address-class.ts';
export {
  type AllowEntry,
  type Destination,
  entryCovers,
  listCovers,
  type NetworkGrant,
  type NetworkPermission,
  networkGrantOf,
  parseAllowEntry,
  parseAllowList,
} from './allow-list.ts';
export {
  type AdmittedDestination,
  DestinationGuard,
  type DestinationGuardOptions,
  pinnedLookup,
  type Resolver,
  systemResolver,
} from './destination-guard.ts';
export {
  type Connect,
  createEgressProxy,
  EgressProxy,
  type EgressProxyOptions,
  type EgressRefusal,
  type EgressStats,
} from './egress-proxy.ts';
export { type Cidr, cidrContains, formatIp, type Ip, parseCidr, parseIp } from './ip.ts';
export { listenInNetns, type NetnsListenOptions } from './netns-listener.ts';
