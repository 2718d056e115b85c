"""The JSON Schema of each policy kind, and the documents the demo proposes first."""

from typing import Any

from adapters.search import STRATEGIES

POLICY_SCHEMAS: dict[str, dict[str, Any]] = {
    "governance": {
        "type": "object",
        "additionalProperties": False,
        "required": ["quorum", "threshold", "deadline_days"],
        "properties": {
            "quorum": {"type": "integer", "minimum": 1, "description": "Votes (any choice) needed to decide."},
            "threshold": {
                "type": "object",
                "additionalProperties": False,
                "required": ["numerator", "denominator"],
                "properties": {
                    "numerator": {"type": "integer", "minimum": 1},
                    "denominator": {"type": "integer", "minimum": 1},
                },
                "description": "Share of yes among yes+no votes needed to accept, as an exact fraction.",
            },
            "deadline_days": {"type": "number", "exclusiveMinimum": 0, "maximum": 365},
        },
    },
    "privacy": {
        "type": "object",
        "additionalProperties": False,
        "required": ["epsilon", "delta", "clip_bound", "min_noise_multiplier", "participant_may_tighten"],
        "properties": {
            "epsilon": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
            "delta": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "clip_bound": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "min_noise_multiplier": {"type": "number", "exclusiveMinimum": 0},
            "participant_may_tighten": {"type": "boolean"},
        },
    },
    "orchestration": {
        "type": "object",
        "additionalProperties": False,
        "required": ["min_margin", "min_participants", "confidence"],
        "properties": {
            "min_margin": {"type": "number", "minimum": 0, "maximum": 1},
            "min_participants": {"type": "integer", "minimum": 1},
            "confidence": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "shortlist_size": {
                "type": "integer",
                "minimum": 1,
                "maximum": 32,
                "description": "Public-search winners evaluated on private code per round (default 4).",
            },
            "public_budget": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100000,
                "description": "Plans evaluated on the public corpus per round, free of privacy cost (default 40).",
            },
            "max_noise_multiplier": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "Beyond this a signal is too noisy to be worth its cost (default 40).",
            },
            "portfolio_size": {
                "type": "integer",
                "minimum": 1,
                "maximum": 64,
                "description": "K: the most plans a problem class's portfolio may hold (default 8).",
            },
            "pool_budget": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100000,
                "description": "Portfolio rounds: plans evaluated per public program by the free per-program "
                "search that fills the candidate pool (default 40).",
            },
            "pool_strategy": {
                "enum": list(STRATEGIES),
                "description": "Portfolio rounds: the per-program search's strategy (default local).",
            },
            "min_witnesses": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1000,
                "description": "A promotion is final, and served to participants, once a checkpoint covering its "
                "ledger entry is cosigned by this many distinct participants (default 0: at once).",
            },
        },
    },
}

ORCHESTRATION_DEFAULTS: dict[str, Any] = {
    "shortlist_size": 4,
    "public_budget": 40,
    "max_noise_multiplier": 40.0,
    "portfolio_size": 8,
    "pool_budget": 40,
    "pool_strategy": "local",
    "min_witnesses": 0,
}

DEFAULT_DOCUMENTS: dict[str, dict[str, Any]] = {
    "governance": {"quorum": 3, "threshold": {"numerator": 2, "denominator": 3}, "deadline_days": 7},
    "privacy": {
        "epsilon": 1.0,
        "delta": 1e-6,
        "clip_bound": 0.1,
        "min_noise_multiplier": 1.0,
        "participant_may_tighten": True,
    },
    "orchestration": {"min_margin": 0.01, "min_participants": 2, "confidence": 0.95},
}
