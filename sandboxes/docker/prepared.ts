/** What prepare() makes of an artifact: which image, which path (warm runner or cold), its network grant. */
import type { NetworkGrant } from '../../src/net/allow-list.ts';

export interface WarmPrepared {
  path: 'warm';
  kind: 'js' | 'script';
  image: string;
  digest: string;
  functionName: string;
  functionVersion: number;
  source: string;
  interpreter?: string;
  env: Record<string, string>;
  /** permissions.network as the tier enforces it (none: no proxy at all). */
  grant: NetworkGrant;
}

export interface ColdPrepared {
  path: 'cold';
  image: string;
  command?: string[];
  digest: string;
  functionName: string;
  env: Record<string, string>;
  /** permissions.network as the tier enforces it (none: no proxy at all). */
  grant: NetworkGrant;
}

export type DockerPrepared = WarmPrepared | ColdPrepared;
