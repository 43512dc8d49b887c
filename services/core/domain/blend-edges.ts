/**
 * Edge blending across models for one symbol.
 *
 *   E = Σ wᵢ·cᵢ·eᵢ / Σ wᵢ·cᵢ,  wᵢ = exp(−λᵢ)
 *
 * λᵢ from decay_factors (default_decay_factor otherwise); cᵢ the model's
 * confidence (default_confidence when it gives none), multiplied by the
 * switch penalty while the model is newly active. Edges that are not finite,
 * larger than max_abs_edge_bps, or whose confidence lies outside [0, 1] are
 * rejected; confidences below min_confidence_threshold are left out; of the
 * rest the max_models_to_blend with the largest wᵢ·cᵢ are kept.
 *
 * Shrinkage toward the prior, weighted by the evidence S = Σ wᵢ·cᵢ:
 *   E' = (S·E + k·prior) / (S + k),  k = shrinkage_strength
 */

export interface EdgeInput {
  model: string;
  edgeBps: number;
  confidence: number | null;
}

export interface BlendParams {
  decayFactors: Readonly<Record<string, number>>;
  defaultDecayFactor: number;
  defaultConfidence: number;
  minConfidence: number;
  maxModels: number;
  priorEdgeBps: number;
  shrinkageStrength: number;
  maxAbsEdgeBps: number;
  switchPenaltyMultiplier: number;
  switchPenaltyMs: number;
}

export interface BlendContext {
  activeModel: string;
  activeSince: number;
  now: number;
}

export interface BlendComponent {
  model: string;
  edgeBps: number;
  confidence: number;
  decayWeight: number;
  /** wᵢ·cᵢ / Σ wⱼ·cⱼ over the models used; 0 for models left out. */
  finalWeight: number;
  penalised: boolean;
  excluded: string | null;
}

export interface BlendResult {
  ok: boolean;
  /** Blended edge after shrinkage; 0 when !ok. */
  edgeBps: number;
  /** Blended edge before shrinkage. */
  rawEdgeBps: number;
  evidence: number;
  components: BlendComponent[];
  reason: string;
}

export function blendParamsFrom(c: {
  decay_factors: Readonly<Record<string, number>>;
  default_decay_factor: number;
  default_confidence: number;
  min_confidence_threshold: number;
  max_models_to_blend: number;
  prior_edge_bps: number;
  shrinkage_strength: number;
  max_abs_edge_bps: number;
  switch_penalty: { confidence_multiplier: number; duration_ms: number };
}): BlendParams {
  return {
    decayFactors: c.decay_factors,
    defaultDecayFactor: c.default_decay_factor,
    defaultConfidence: c.default_confidence,
    minConfidence: c.min_confidence_threshold,
    maxModels: c.max_models_to_blend,
    priorEdgeBps: c.prior_edge_bps,
    shrinkageStrength: c.shrinkage_strength,
    maxAbsEdgeBps: c.max_abs_edge_bps,
    switchPenaltyMultiplier: c.switch_penalty.confidence_multiplier,
    switchPenaltyMs: c.switch_penalty.duration_ms,
  };
}

export function blendEdges(inputs: readonly EdgeInput[], p: BlendParams, ctx: BlendContext): BlendResult {
  const components: BlendComponent[] = [];
  const candidates: BlendComponent[] = [];
  for (const input of inputs) {
    const rawConfidence = input.confidence ?? p.defaultConfidence;
    const lambda = p.decayFactors[input.model] ?? p.defaultDecayFactor;
    const c: BlendComponent = {
      model: input.model,
      edgeBps: input.edgeBps,
      confidence: rawConfidence,
      decayWeight: Math.exp(-lambda),
      finalWeight: 0,
      penalised: false,
      excluded: null,
    };
    components.push(c);
    if (!Number.isFinite(input.edgeBps)) c.excluded = 'edge not finite';
    else if (Math.abs(input.edgeBps) > p.maxAbsEdgeBps) c.excluded = `|edge| > ${p.maxAbsEdgeBps} bps`;
    else if (!Number.isFinite(rawConfidence) || rawConfidence < 0 || rawConfidence > 1) c.excluded = 'confidence outside [0, 1]';
    else if (!Number.isFinite(c.decayWeight)) c.excluded = 'decay factor not finite';
    if (c.excluded) continue;
    if (input.model === ctx.activeModel && ctx.now - ctx.activeSince < p.switchPenaltyMs) {
      c.confidence = rawConfidence * p.switchPenaltyMultiplier;
      c.penalised = true;
    }
    if (c.confidence < p.minConfidence) {
      c.excluded = `confidence ${c.confidence.toFixed(3)} < ${p.minConfidence}`;
      continue;
    }
    candidates.push(c);
  }
  candidates.sort((a, b) => b.decayWeight * b.confidence - a.decayWeight * a.confidence);
  for (const dropped of candidates.slice(p.maxModels)) dropped.excluded = `beyond max_models_to_blend (${p.maxModels})`;
  const used = candidates.slice(0, p.maxModels);
  let evidence = 0;
  let weighted = 0;
  for (const c of used) {
    const wc = c.decayWeight * c.confidence;
    evidence += wc;
    weighted += wc * c.edgeBps;
  }
  if (used.length === 0 || !(evidence > 0)) {
    return { ok: false, edgeBps: 0, rawEdgeBps: 0, evidence: 0, components, reason: used.length === 0 ? 'no usable model edges' : 'zero total weight' };
  }
  for (const c of used) c.finalWeight = (c.decayWeight * c.confidence) / evidence;
  const raw = weighted / evidence;
  const k = p.shrinkageStrength;
  const edge = (evidence * raw + k * p.priorEdgeBps) / (evidence + k);
  if (!Number.isFinite(edge)) return { ok: false, edgeBps: 0, rawEdgeBps: 0, evidence, components, reason: 'blend not finite' };
  return { ok: true, edgeBps: edge, rawEdgeBps: raw, evidence, components, reason: '' };
}

/** The breakdown as written to risk.edge_blended.<symbol> and returned by the preview. */
export interface BreakdownRow {
  model: string;
  edge_bps: number;
  confidence: number;
  decay_weight: number;
  weight: number;
  penalised: boolean;
  excluded: string | null;
}

export function breakdownOf(components: readonly BlendComponent[]): BreakdownRow[] {
  return components.map((c) => ({
    model: c.model,
    edge_bps: c.edgeBps,
    confidence: c.confidence,
    decay_weight: c.decayWeight,
    weight: c.finalWeight,
    penalised: c.penalised,
    excluded: c.excluded,
  }));
}
