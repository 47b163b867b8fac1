/** The simulated IB Gateway: tests, benches and `--demo` mode run against it. */

export { generateBars, type SimBar } from './bars';
export { DAY_MS, isTradingDay, marketHolidays, newYorkOffsetMinutes, sessionBounds } from './calendar';
export {
  IbGatewaySimulator,
  SIM_MESSAGES,
  type SimRequest,
  type SimRequestType,
  type SimulatorOptions,
  type SimulatorStats,
} from './server';
