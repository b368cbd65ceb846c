"""Product suggestions after a card tap: what is bought together with what the member buys (fact_pairs)."""
from __future__ import annotations

from typing import Iterable, Mapping


def recommend(member_skus: Mapping[int, int], pairs: Iterable[tuple[int, int, int]], exclude: set[int],
              k: int = 3) -> list[int]:
    """Up to k sku ids by co-occurrence score, best first (ties: the smaller id), never one in `exclude`.

    member_skus maps a sku id to how many times the member bought it; pairs are fact_pairs rows (a, b, n): n sales
    held both a and b. A candidate scores Σ member_skus[s] · n(s, candidate). Pass the member's own skus in
    `exclude` to suggest only new products; pre-filter pairs in SQL to the member's skus on a large shop.
    """
    scores: dict[int, int] = {}
    for a, b, n in pairs:
        for have, other in ((a, b), (b, a)):
            weight = member_skus.get(have, 0)
            if weight and n > 0 and other not in exclude:
                scores[other] = scores.get(other, 0) + weight * n
    return sorted(scores, key=lambda sku: (-scores[sku], sku))[:max(k, 0)]
