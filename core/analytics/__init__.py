"""Member analytics, the pure reference: RFM segments, A/B/C/D classes, churn, at-risk and recommendations.

Inputs are per-visit columns (member 0..n_members-1, day as a date ordinal, amount in fen) from one facts scan;
native/analytics.pyx computes the same batch functions faster and is tested equal to these.
"""
from core.analytics.churn import ACTIVE, DORMANT, LAPSED, LAPSING, NEVER, STATES, AtRisk, at_risk, churn_states
from core.analytics.classes import CLASS_NAMES, classes
from core.analytics.columns import AnalyticsInputError
from core.analytics.recommend import recommend
from core.analytics.rfm import RfmResult, aggregate, rfm
from core.analytics.segments import NO_SEGMENT, SEGMENTS, Segment
from core.analytics.settings import AnalyticsSettings, ChurnThresholds, ClassThresholds, parse_analytics

__all__ = [
    "ACTIVE", "DORMANT", "LAPSED", "LAPSING", "NEVER", "STATES", "AtRisk", "at_risk", "churn_states",
    "CLASS_NAMES", "classes", "AnalyticsInputError", "recommend", "RfmResult", "aggregate", "rfm",
    "NO_SEGMENT", "SEGMENTS", "Segment", "AnalyticsSettings", "ChurnThresholds", "ClassThresholds", "parse_analytics",
]
