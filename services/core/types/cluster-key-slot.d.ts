// cluster-key-slot ships no types: Redis Cluster's hash slot of a key (CRC16 of its hash tag, mod 16384).
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
