export { openCatalogue } from './catalogue.ts';
export { masterHttpApp } from './http.ts';
export { type MasterConfig, MasterCore, type SubmitTask } from './master.ts';
export { MasterServer, type MasterServerOptions } from './server.ts';
export type { Catalogue, TaskView, WorkerView } from './types.ts';
