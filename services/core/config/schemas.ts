/**
 * Config schemas for both YAML files, with every default declared once.
 * Schemas are strict: an unknown field is an error, so a typo cannot silently
 * leave a limit at its default.
 */
import { z } from 'zod';

const pct = z.number().finite().min(0).max(100);
const positive = z.number().finite().positive();
const nonNegative = z.number().finite().min(0);
const unit = z.number().finite().min(0).max(1);

// ---------------------------------------------------------------------------
// conf/risk_params.yml
// ---------------------------------------------------------------------------

const assetClassLimits = z.strictObject({
  max_leverage: positive,
  max_position_pct: unit,
});

export const riskHarmoniserSchema = z.strictObject({
  edge_blending: z.strictObject({
    decay_factors: z.record(z.string(), nonNegative).default({}),
    default_decay_factor: nonNegative.default(0.5),
    default_confidence: unit.default(0.5),
    min_confidence_threshold: unit.default(0.3),
    max_models_to_blend: z.number().int().min(1).max(32).default(4),
    prior_edge_bps: z.number().finite().default(0),
    shrinkage_strength: unit.default(0.2),
    max_abs_edge_bps: positive.max(10_000).default(10_000),
    switch_penalty: z
      .strictObject({ confidence_multiplier: unit.default(0.5), duration_ms: nonNegative.default(60_000) })
      .default({ confidence_multiplier: 0.5, duration_ms: 60_000 }),
  }),
  position_sizing: z.strictObject({
    kelly_fraction: unit,
    emergency_kelly_fraction: unit.default(0.1),
    portfolio_value_usd: positive,
    min_order_notional_usd: nonNegative.default(10),
    asset_classes: z.record(z.string(), assetClassLimits).refine((v) => 'default' in v, {
      message: 'asset_classes must contain a "default" entry',
    }),
  }),
  risk_limits: z.strictObject({
    /** VaR target per position, percent of portfolio, 1-day 95 %. */
    var_targets: z.strictObject({ daily_95pct: pct }),
    /** Portfolio VaR limit, percent; the alert fires at warning_ratio of it. */
    var_limit_pct: pct.default(2.0),
    var_warning_ratio: unit.default(0.9),
    /** Hot reload is refused above this portfolio VaR unless forced (runbook safety check). */
    reload_block_var_pct: pct.default(1.5),
    max_daily_drawdown_pct: pct.default(20),
    daily_pnl_floor_usd: z.number().finite().default(-50_000),
    /**
     * At this fraction of max_daily_drawdown_pct (or of daily_pnl_floor_usd)
     * trading goes REDUCING, before the kill switch engages at the full limit.
     */
    reduce_first_ratio: unit.default(0.8),
  }),
  volatility: z
    .strictObject({
      ewma_lambda: z.number().gt(0).lt(1).default(0.94),
      stale_after_ms: positive.default(60_000),
      initial_daily_vol_pct: positive.default(3),
      seconds_per_day: positive.default(86_400),
      /** Return correlation for portfolio VaR: EWMA λ, sampling interval, samples before it is trusted (ρ = 1 until then). */
      correlation_lambda: z.number().gt(0).lt(1).default(0.97),
      correlation_sample_ms: positive.default(1_000),
      correlation_min_samples: z.number().int().min(1).default(20),
    })
    .default({ ewma_lambda: 0.94, stale_after_ms: 60_000, initial_daily_vol_pct: 3, seconds_per_day: 86_400, correlation_lambda: 0.97, correlation_sample_ms: 1_000, correlation_min_samples: 20 }),
  circuit_breaker: z
    .strictObject({
      var_threshold_pct: pct.default(2.5),
      latency_threshold_ms: positive.default(100),
      latency_window: z.number().int().min(1).default(20),
      error_threshold_percentage: pct.default(50),
      rolling_count_timeout_ms: positive.default(10_000),
      volume_threshold: z.number().int().min(0).default(5),
      half_open_max_orders: z.number().int().min(1).default(5),
      half_open_max_notional_usd: positive.default(10_000),
      probation_ms: nonNegative.default(30_000),
    })
    .default({
      var_threshold_pct: 2.5,
      latency_threshold_ms: 100,
      latency_window: 20,
      error_threshold_percentage: 50,
      rolling_count_timeout_ms: 10_000,
      volume_threshold: 5,
      half_open_max_orders: 5,
      half_open_max_notional_usd: 10_000,
      probation_ms: 30_000,
    }),
  kill_switch: z
    .strictObject({
      market_data_stale_ms: positive.default(60_000),
      venue_errors_per_minute: z.number().int().min(1).default(20),
      heartbeat_missed_cycles: z.number().int().min(1).default(3),
      require_second_operator: z.boolean().default(false),
    })
    .default({
      market_data_stale_ms: 60_000,
      venue_errors_per_minute: 20,
      heartbeat_missed_cycles: 3,
      require_second_operator: false,
    }),
});
export type RiskHarmoniserConfig = z.infer<typeof riskHarmoniserSchema>;

export const riskParamsFileSchema = z.strictObject({ risk_harmoniser: riskHarmoniserSchema });

/**
 * Fields that cannot change while running: a reload that changes one is
 * rejected as a whole (never half-applied) and says which field it was.
 */
export const RISK_RESTART_ONLY_FIELDS: readonly string[] = ['position_sizing.portfolio_value_usd'];

// ---------------------------------------------------------------------------
// model_router_rules.yml
// ---------------------------------------------------------------------------

const modelSpec = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('builtin'),
    /** Which built-in alpha: obi | momentum | mean_reversion | vol_breakout. */
    alpha: z.enum(['obi', 'momentum', 'mean_reversion', 'vol_breakout']),
    max_latency_ms: positive.default(5),
  }),
  z.strictObject({
    kind: z.literal('onnx'),
    /** The .onnx file, relative to the project root, inside models/. */
    path: z.string().regex(/^models\/[\w./-]+\.onnx$/, 'must be a .onnx file under models/ (e.g. models/linear_alpha.onnx)').refine((p) => !p.split('/').includes('..'), 'may not contain ".."'),
    /** Input tensor name; it receives the feature vector, float32 [1, 7]. */
    input: z.string().min(1).default('features'),
    /** Output tensor names: edge in bps and confidence in [0, 1]. */
    outputs: z.strictObject({ edge_bps: z.string().min(1).default('edge_bps'), confidence: z.string().min(1).default('confidence') }).default({ edge_bps: 'edge_bps', confidence: 'confidence' }),
    max_latency_ms: positive.default(5),
  }),
]);
export type ModelSpec = z.infer<typeof modelSpec>;

export const routerRuleSchema = z.strictObject({
  match: z.strictObject({
    asset_class: z.string().min(1).default('*'),
    horizon_ms: z.string().min(1).default('*'),
  }),
  model: z.string().min(1),
  /** Models blended alongside the active one by the risk harmoniser. */
  ensemble: z.array(z.string().min(1)).default([]),
  /** Where this rule falls back when its model fails, is too slow or goes stale; the file's default_model when absent. */
  default_model: z.string().min(1).optional(),
  priority: z.number().int().default(100),
  description: z.string().default(''),
});
export type RouterRule = z.infer<typeof routerRuleSchema>;

export const modelRouterSchema = z.strictObject({
  default_model: z.string().min(1),
  models: z.record(z.string(), modelSpec),
  rules: z.array(routerRuleSchema),
  confidence_thresholds: z.strictObject({
    min_confidence: unit.default(0.55),
    switch_hysteresis: unit.default(0.05),
  }),
  switching: z
    .strictObject({
      min_dwell_ms: nonNegative.default(30_000),
      market_hours_only: z.boolean().default(false),
      prediction_expiry_ms: positive.default(5_000),
    })
    .default({ min_dwell_ms: 30_000, market_hours_only: false, prediction_expiry_ms: 5_000 }),
  defaults: z
    .strictObject({
      /** Base prediction horizon; scaled by the volatility regime per symbol. */
      horizon_ms: positive.default(30_000),
      instrument_cache_ttl_ms: positive.default(60_000),
    })
    .default({ horizon_ms: 30_000, instrument_cache_ttl_ms: 60_000 }),
});
export type ModelRouterConfig = z.infer<typeof modelRouterSchema>;

export const modelRouterFileSchema = z.strictObject({ model_router: modelRouterSchema });

// ---------------------------------------------------------------------------
// param.reload payload
// ---------------------------------------------------------------------------

export const reloadRequestSchema = z.strictObject({
  component: z.enum(['risk_harmoniser', 'model_router']),
  config_path: z.string().min(1).optional(),
  force: z.boolean().optional(),
});
export type ReloadRequest = z.infer<typeof reloadRequestSchema>;

export const DEFAULT_CONFIG_PATHS = {
  risk_harmoniser: 'conf/risk_params.yml',
  model_router: 'model_router_rules.yml',
} as const;
