export { isPrivateAddress, privateAddressRefused, publicOnlyLookup, stripMapped } from './addresses';
export { appRoot } from './app-root';
export { type Clock, ManualClock, systemClock } from './clock';
export { AppError, errorMessage } from './errors';
export { FolderError, makeFolder, makeFolderSync } from './folders';
export {
  fileSink,
  LOG_LEVELS,
  Logger,
  type LogLevel,
  type LogRecord,
  type LogSink,
  memorySink,
  silentLogger,
  streamSink,
} from './logger';
export { type BackoffPolicy, backoffDelay, type RetryOptions, retry } from './retry';
export { secretEquals } from './secrets';
export { yieldToLoop } from './yield';
