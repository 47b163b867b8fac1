/** Handlers for the IBKR contract methods (`ibkr.status`, `ibkr.reconnect`). */
import type { Handlers } from '../api';
import { AppError } from '../platform';
import type { IbkrConnection } from './connection';

export function ibkrHandlers(deps: { connection: () => IbkrConnection }): Pick<Handlers, 'ibkr.status' | 'ibkr.reconnect'> {
  return {
    'ibkr.status': () => deps.connection().status(),
    'ibkr.reconnect': () => {
      const connection = deps.connection();
      if (connection.status().offline) {
        throw new AppError('IBKR_OFFLINE', 'DEBUG_MODE is on: IBKR stays disconnected while replaying from the cache', {
          status: 409,
        });
      }
      connection.reconnect();
      return connection.status();
    },
  };
}
