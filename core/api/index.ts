export { ApiCallError, ApiClient, type ApiTransport, httpTransport } from './client';
export {
  EVENT_NAMES,
  type EventName,
  type EventPayload,
  type Events,
  events,
  isMethodName,
  METHOD_NAMES,
  type MethodArgs,
  type MethodInput,
  type MethodName,
  type MethodOutput,
  type Methods,
  methods,
} from './contract';
export { type ApiErrorBody, type ApiIssue, type CallResult, type EventSpec, event, type MethodSpec, method } from './define';
export { ApiDispatcher, type CallContext, callOrThrow, EventHub, type Handlers, toIssues } from './dispatcher';
export type { FromHost, MessagePortLike, ToHost } from './port-protocol';
export type { SettingsView, SystemStatus } from './system';
