/** What prepare() makes of an artifact: which image, which path (warm runner or cold). */
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
}

export interface ColdPrepared {
  path: 'cold';
  image: string;
  command?: string[];
  digest: string;
  functionName: string;
  env: Record<string, string>;
}

export type DockerPrepared = WarmPrepared | ColdPrepared;
