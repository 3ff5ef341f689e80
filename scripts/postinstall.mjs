/**
 * Root postinstall, run by `npm ci` / `npm install` on the project's Node 24 (npm puts
 * node_modules/.bin first on PATH for lifecycle scripts). npm skips optional native packages
 * whose "engines" the Node running npm does not meet (for example @napi-rs/lzma-linux-x64-gnu,
 * which needs Node >= 22.20). When npm itself ran on an older Node than this one, install once
 * more on this Node, from the same lock file, so those packages are there too.
 */
import { spawnSync } from 'node:child_process';

const major = (version) => Number(/v?(\d+)/.exec(version ?? '')?.[1] ?? 0);
const npmNode = /\bnode\/(v[\d.]+)/.exec(process.env.npm_config_user_agent ?? '')?.[1];
const npmCli = process.env.npm_execpath;

if (npmNode && npmCli && major(npmNode) < major(process.version)) {
  console.log(`strata: npm ran on Node ${npmNode}; completing optional native packages on Node ${process.version}`);
  const result = spawnSync(
    process.execPath,
    [npmCli, 'install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
    { stdio: 'inherit', env: { ...process.env, npm_config_engine_strict: 'false' } },
  );
  if (result.status !== 0) {
    console.error('strata: the second install pass failed; run `npx -y -p node@24 -- npm ci` instead');
    process.exit(result.status ?? 1);
  }
}
