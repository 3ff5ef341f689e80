export { describeEndpoint, dockerClient } from './client.ts';
export { createDockerDriver, type DockerDriver, type DockerDriverOptions } from './driver.ts';
export { type BuildEvent, type BuildResult, buildRunnerImages, expectedRunnerImages } from './images.ts';
export type { DockerPrepared } from './prepared.ts';
export { planRunnerImages, RUNNER_KINDS, type RunnerKind } from './rootfs-plan.ts';
