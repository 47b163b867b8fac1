/** Public face of core/desktop: the plain-Node parts of the desktop shell and the core host. */

export { CALL_CHANNEL_PREFIX, callChannel, EVENT_CHANNEL, METHOD_NAME_PATTERN } from './channels';
export {
  type HostChild,
  HostClient,
  type HostClientOptions,
  HostFatalError,
  type HostReady,
  type HostState,
} from './host-client';
export { forkHostPort, hostPortFromProcess, parentPortHostPort } from './host-ports';
export { exitCodeFor, type HostPort, type RunHostOptions, runHost } from './host-runner';
export { checkCallInput, contractChannels } from './ipc-bridge';
export { type Cipher, SECRET_KEYS, SecretVault, splitSecretPatch } from './secrets';
export { CONTENT_SECURITY_POLICY, isAppUrl, isExternalLink } from './security';
export {
  DEFAULT_WINDOW_STATE,
  fitToDisplays,
  MIN_WINDOW_SIZE,
  type Rect,
  readWindowState,
  type WindowState,
  writeWindowState,
} from './window-state';
