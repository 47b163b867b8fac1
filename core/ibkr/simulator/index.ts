/** The simulated IB Gateway: tests, benches and `--demo` mode run against it. */

export { generateBars, type SimBar } from './bars';
export {
  IbGatewaySimulator,
  SIM_MESSAGES,
  type SimRequest,
  type SimRequestType,
  type SimulatorOptions,
  type SimulatorStats,
} from './server';
