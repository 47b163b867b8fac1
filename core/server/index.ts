export { type ControlServer, type ControlServerOptions, newAccessToken, startControlServer } from './control-server';
