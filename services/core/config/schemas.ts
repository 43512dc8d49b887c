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

export const riskHarmoniserSchema = z
  .strictObject({
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
      /** Portfolio VaR limit, percent; the VaR guard (and the VaRBreach alert) at warning_ratio of it. */
      var_limit_pct: pct.default(2.0),
      var_warning_ratio: unit.default(0.9),
      /**
       * Portfolio VaR the sizing aims the book at, percent: each target is capped
       * at the room this budget leaves next to the rest of the book. Below the
       * reload block, the guard and the breaker, so each of those means
       * something abnormal (a market move), not the normal operating point.
       */
      var_budget_pct: pct.default(1.2),
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
        /** POST /api/risk/refresh-volatility reads at most this much recent market data. */
        refresh_window_ms: positive.max(86_400_000).default(600_000),
        refresh_max_ticks: z.number().int().min(100).max(1_000_000).default(50_000),
      })
      .default({
        ewma_lambda: 0.94,
        stale_after_ms: 60_000,
        initial_daily_vol_pct: 3,
        seconds_per_day: 86_400,
        correlation_lambda: 0.97,
        correlation_sample_ms: 1_000,
        correlation_min_samples: 20,
        refresh_window_ms: 600_000,
        refresh_max_ticks: 50_000,
      }),
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
        /**
         * After an executor starts, a watched service it has not yet seen beat
         * counts as missing only once this has passed (a restart of the whole
         * system brings the services up one by one).
         */
        startup_grace_ms: nonNegative.max(600_000).default(15_000),
        require_second_operator: z.boolean().default(false),
      })
      .default({
        market_data_stale_ms: 60_000,
        venue_errors_per_minute: 20,
        heartbeat_missed_cycles: 3,
        startup_grace_ms: 15_000,
        require_second_operator: false,
      }),
    execution: z
      .strictObject({
        /** Orders the executor sends for a target: market, or limit at the touch ± limit_offset_bps (a positive offset pays up). */
        order_type: z.enum(['market', 'limit']).default('market'),
        limit_offset_bps: z.number().finite().min(-1_000).max(1_000).default(0),
        /** The order queue's limiter: at most this many sends per second across the deployment. */
        orders_per_second: positive.max(100_000).default(20),
        /** Venue fees, basis points of notional. */
        fees: z
          .strictObject({ maker_bps: z.number().finite().min(-100).max(1_000).default(1), taker_bps: nonNegative.max(1_000).default(4) })
          .default({ maker_bps: 1, taker_bps: 4 }),
        /** Expected slippage beyond the half spread per crossing, basis points (the cost model of targets). */
        slippage_bps: nonNegative.max(1_000).default(1),
        /** A target moves the position only when the blended edge pays for the round trip: 2 × (taker fee + slippage) + the spread. */
        cost_aware: z.boolean().default(true),
        /** Open orders with no update for this long are cancelled and reported as stuck. */
        stuck_order_ms: positive.max(86_400_000).default(60_000),
        /** Reconciliation with the venue: at start, then this often. */
        reconcile_interval_ms: positive.max(3_600_000).default(30_000),
        /** A position that differs from the venue's by more than this share of its notional: alert, and that symbol goes REDUCING. */
        position_drift_pct: positive.max(100).default(0.5),
        /** The paper venue's simulation. */
        paper: z
          .strictObject({
            /** Price impact of a market order: basis points per 100,000 USD of notional, on top of crossing the spread. */
            impact_bps_per_100k_usd: nonNegative.max(1_000).default(0.5),
            latency_ms: nonNegative.max(60_000).default(2),
            /** Share of market orders that fill in two parts (the rest on a later quote). */
            partial_fill_ratio: unit.default(0.1),
            seed: z.number().int().min(0).default(7),
          })
          .default({ impact_bps_per_100k_usd: 0.5, latency_ms: 2, partial_fill_ratio: 0.1, seed: 7 }),
      })
      .default({
        order_type: 'market',
        limit_offset_bps: 0,
        orders_per_second: 20,
        fees: { maker_bps: 1, taker_bps: 4 },
        slippage_bps: 1,
        cost_aware: true,
        stuck_order_ms: 60_000,
        reconcile_interval_ms: 30_000,
        position_drift_pct: 0.5,
        paper: { impact_bps_per_100k_usd: 0.5, latency_ms: 2, partial_fill_ratio: 0.1, seed: 7 },
      }),
    /** The three time series and metrics:<metric>:<symbol> hashes: written per symbol at most once per sample_ms (0: every batch). */
    metrics: z
      .strictObject({
        sample_ms: nonNegative.max(60_000).default(250),
      })
      .default({ sample_ms: 250 }),
  })
  .superRefine((c, ctx) => {
    // The normal operating point sits under every warning level.
    const budget = c.risk_limits.var_budget_pct;
    const guard = c.risk_limits.var_limit_pct * c.risk_limits.var_warning_ratio;
    const levels: [string, number, (string | number)[]][] = [
      ['reload_block_var_pct', c.risk_limits.reload_block_var_pct, ['risk_limits', 'var_budget_pct']],
      ['the VaR guard (var_limit_pct × var_warning_ratio)', guard, ['risk_limits', 'var_budget_pct']],
      ['circuit_breaker.var_threshold_pct', c.circuit_breaker.var_threshold_pct, ['risk_limits', 'var_budget_pct']],
    ];
    for (const [name, level, path] of levels) {
      if (!(budget < level)) ctx.addIssue({ code: 'custom', path, message: `must be below ${name} (${+level.toFixed(4)}), found ${budget}` });
    }
  });
export type RiskHarmoniserConfig = z.infer<typeof riskHarmoniserSchema>;

export const riskParamsFileSchema = z.strictObject({ risk_harmoniser: riskHarmoniserSchema });

/**
 * Fields that cannot change while running: a reload that changes one is
 * rejected as a whole (never half-applied) and says which field it was.
 */
export const RISK_RESTART_ONLY_FIELDS: readonly string[] = ['position_sizing.portfolio_value_usd', 'execution.orders_per_second'];

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
    path: z
      .string()
      .regex(/^models\/[\w./-]+\.onnx$/, 'must be a .onnx file under models/ (e.g. models/linear_alpha.onnx)')
      .refine((p) => !p.split('/').includes('..'), 'may not contain ".."'),
    /** Input tensor name; it receives the feature vector, float32 [1, 7]. */
    input: z.string().min(1).default('features'),
    /** Output tensor names: edge in bps and confidence in [0, 1]. */
    outputs: z
      .strictObject({ edge_bps: z.string().min(1).default('edge_bps'), confidence: z.string().min(1).default('confidence') })
      .default({ edge_bps: 'edge_bps', confidence: 'confidence' }),
    max_latency_ms: positive.default(5),
  }),
]);
export type ModelSpec = z.infer<typeof modelSpec>;

/** Upper bounds that keep validation and matching cheap (a file of 20,000 rules is a mistake). */
export const MAX_ROUTER_RULES = 500;
export const MAX_MODELS = 64;

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
  models: z.record(z.string(), modelSpec).refine((m) => Object.keys(m).length <= MAX_MODELS, `at most ${MAX_MODELS} models`),
  rules: z.array(routerRuleSchema).max(MAX_ROUTER_RULES),
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
    })
    .default({ horizon_ms: 30_000 }),
});
export type ModelRouterConfig = z.infer<typeof modelRouterSchema>;

export const modelRouterFileSchema = z.strictObject({ model_router: modelRouterSchema });

// ---------------------------------------------------------------------------
// conf/instruments.yml: the tradable universe and market-data checks
// ---------------------------------------------------------------------------

/** Symbols: 1-32 chars of A-Z, 0-9, ".", "_" or "-", starting with a letter or digit. */
export const SYMBOL_PATTERN = /^[A-Z0-9][A-Z0-9._-]{0,31}$/;
export const MAX_INSTRUMENTS = 1_000;

const instrumentSchema = z.strictObject({
  asset_class: z.string().regex(/^[a-z0-9_]{1,32}$/, 'must be 1-32 chars of a-z, 0-9 or "_"'),
  exchange: z.string().min(1).max(32).default('PAPER'),
  tick_size: positive,
  lot_size: positive,
  /** "24x7" or a UTC window such as "13:30-20:00" (weekdays). */
  market_hours: z
    .string()
    .regex(/^(24x7|\d{2}:\d{2}-\d{2}:\d{2})$/, 'must be "24x7" or "HH:MM-HH:MM" (UTC)')
    .default('24x7'),
  /** The symbol at a live venue (ccxt's unified form, e.g. "BTC/USDT"); without it a live venue does not trade the instrument. */
  venue_symbol: z
    .string()
    .regex(/^[A-Z0-9]{1,20}\/[A-Z0-9]{1,20}$/, 'must be BASE/QUOTE, e.g. "BTC/USDT"')
    .optional(),
  /** The built-in synthetic market makes ticks for instruments with this block. */
  synthetic: z
    .strictObject({
      price: positive,
      daily_vol_pct: positive.max(100),
      spread_bps: positive.max(1_000),
    })
    .optional(),
});
export type InstrumentSpecConfig = z.infer<typeof instrumentSchema>;

export const marketDataChecksSchema = z.strictObject({
  /** A tick stamped more than this after Redis received it is dead-lettered. */
  max_future_ms: nonNegative.max(3_600_000).default(5_000),
  /** A tick stamped more than this before Redis received it is dead-lettered. */
  max_age_ms: positive.max(86_400_000).default(60_000),
  /** A mid price further than this from the last good one is quarantined... */
  price_band_pct: positive.max(1_000).default(5),
  /** ...until this many consecutive ticks (including it) agree on the new level. */
  confirm_ticks: z.number().int().min(1).max(100).default(3),
});
export type MarketDataChecks = z.infer<typeof marketDataChecksSchema>;

export const instrumentsSchema = z.strictObject({
  symbols: z.record(z.string(), instrumentSchema).superRefine((m, ctx) => {
    const names = Object.keys(m);
    if (names.length < 1 || names.length > MAX_INSTRUMENTS) ctx.addIssue({ code: 'custom', message: `between 1 and ${MAX_INSTRUMENTS} symbols, found ${names.length}` });
    for (const name of names.filter((n) => !SYMBOL_PATTERN.test(n)).slice(0, 5)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `symbol must be 1-32 chars of A-Z, 0-9, ".", "_" or "-", starting with a letter or digit; found "${name.slice(0, 40)}"`,
      });
    }
  }),
  market_data: marketDataChecksSchema.default({ max_future_ms: 5_000, max_age_ms: 60_000, price_band_pct: 5, confirm_ticks: 3 }),
});
export type InstrumentsConfig = z.infer<typeof instrumentsSchema>;

export const instrumentsFileSchema = z.strictObject({ instruments: instrumentsSchema });

// ---------------------------------------------------------------------------
// param.reload payload
// ---------------------------------------------------------------------------

/** A param.reload message longer than this is refused unread. */
export const MAX_RELOAD_PAYLOAD_BYTES = 4_096;

export const reloadRequestSchema = z.strictObject({
  component: z.enum(['risk_harmoniser', 'model_router', 'instruments']),
  config_path: z.string().min(1).max(512).optional(),
  force: z.boolean().optional(),
});
export type ReloadRequest = z.infer<typeof reloadRequestSchema>;

export const DEFAULT_CONFIG_PATHS = {
  risk_harmoniser: 'conf/risk_params.yml',
  model_router: 'model_router_rules.yml',
  instruments: 'conf/instruments.yml',
} as const;
