export { type ControlServer, type ControlServerOptions, newAccessToken, startControlServer } from './control-server';
export {
  connectToRunningApp,
  INSTANCE_FILE,
  type InstanceInfo,
  publishInstance,
  type RunningApp,
  readInstance,
  serveForCli,
} from './instance';
