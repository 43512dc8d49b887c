/**
 * The heartbeat sorted set: member "<service>|<instance>", score = ms of the
 * last beat. One place for the member format and for reading it back.
 */

export interface HeartbeatEntry {
  service: string;
  instance: string;
  ts: number;
}

export function heartbeatMember(service: string, instance: string): string {
  return `${service}|${instance}`;
}

/** Parse a `ZRANGE <heartbeats> 0 -1 WITHSCORES` reply. */
export function parseHeartbeats(withScores: readonly string[]): HeartbeatEntry[] {
  const out: HeartbeatEntry[] = [];
  for (let i = 0; i + 1 < withScores.length; i += 2) {
    const [service = '', instance = ''] = withScores[i]!.split('|');
    out.push({ service, instance, ts: Number(withScores[i + 1]) });
  }
  return out;
}

/** Newest heartbeat per service. */
export function newestHeartbeatByService(beats: readonly HeartbeatEntry[]): Record<string, number> {
  const newest: Record<string, number> = {};
  for (const b of beats) newest[b.service] = Math.max(newest[b.service] ?? 0, b.ts);
  return newest;
}
