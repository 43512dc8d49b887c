/**
 * What moving a position costs, in basis points, and whether an edge pays
 * it: the round trip is two crossings, each paying the taker fee and the
 * expected slippage, plus the spread (half of it each way). An edge that
 * does not pay the round trip moves nothing (execution.cost_aware).
 */
import type { RiskHarmoniserConfig } from '../config/schemas.ts';

export function roundTripCostBps(execution: RiskHarmoniserConfig['execution'], spreadBps: number): number {
  return 2 * (execution.fees.taker_bps + execution.slippage_bps) + Math.max(0, spreadBps);
}

/** Whether an edge pays for the round trip (always, when cost awareness is off). */
export function edgePays(execution: RiskHarmoniserConfig['execution'], edgeBps: number, spreadBps: number): boolean {
  return !execution.cost_aware || Math.abs(edgeBps) >= roundTripCostBps(execution, spreadBps);
}

export function costReason(execution: RiskHarmoniserConfig['execution'], edgeBps: number, spreadBps: number): string {
  return `edge ${edgeBps.toFixed(2)} bps does not pay the round trip ${roundTripCostBps(execution, spreadBps).toFixed(2)} bps (2 × (taker fee ${execution.fees.taker_bps} + slippage ${execution.slippage_bps}) + spread ${spreadBps.toFixed(2)})`;
}
