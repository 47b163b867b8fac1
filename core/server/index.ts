export { type ControlServer, type ControlServerOptions, newAccessToken, startControlServer, tokensMatch } from './control-server';
