# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernels of core/analytics: the same per-member batch arithmetic over typed int64 memoryviews.

core.analytics stays the oracle (tests/analytics/test_native.py); every row's member is range-checked before it
indexes a per-member column, and errors are core's own, with core's messages.
"""
from array import array

from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc, qsort

from core.analytics.churn import DORMANT, NEVER, AtRisk
from core.analytics.columns import check_columns, check_positive, member_out_of_range
from core.analytics.rfm import RfmResult, Totals
from core.analytics.segments import HIGH, NO_SEGMENT

cdef int64_t C_HIGH = HIGH, C_NO_SEGMENT = NO_SEGMENT, C_NEVER = NEVER, C_DORMANT = DORMANT


cdef int cmp_q(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const int64_t*>a)[0], y = (<const int64_t*>b)[0]
    return (x > y) - (x < y)


cdef object column(object values):
    """The values as a buffer of int64 (array('q'), numpy int64 …) as they are, anything else copied to array('q')."""
    cdef const int64_t[:] probe
    try:
        probe = values
        return values
    except (TypeError, ValueError, BufferError):
        return array("q", values)


cdef object zeros(Py_ssize_t n, int64_t fill):
    return array("q", [fill]) * n


cdef Py_ssize_t count_below(const int64_t* pool, Py_ssize_t n, int64_t v, bint inclusive) noexcept nogil:
    """How many of the sorted pool are < v (or <= v when inclusive): bisect_left / bisect_right."""
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if pool[mid] < v or (inclusive and pool[mid] == v):
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef void quintiles(const int64_t[:] values, const int64_t[:] active, bint lower_is_better, int64_t[:] out,
                    int64_t* pool) noexcept nogil:
    """core.analytics.rfm.quintile_scores: 1 + 5·(members strictly worse) // (members active)."""
    cdef Py_ssize_t i, n = 0, worse, size = values.shape[0]
    for i in range(size):
        if active[i]:
            pool[n] = values[i]
            n += 1
    qsort(pool, n, sizeof(int64_t), cmp_q)
    for i in range(size):
        if active[i]:
            if lower_is_better:
                worse = n - count_below(pool, n, values[i], True)
            else:
                worse = count_below(pool, n, values[i], False)
            out[i] = 1 + 5 * worse // n
        else:
            out[i] = 0


def aggregate(member, day, amount, Py_ssize_t n_members, int64_t asof_day, int64_t window_days):
    """core.analytics.rfm.aggregate: last visit, visits and spend per member in one pass."""
    member, day, amount = column(member), column(day), column(amount)
    check_columns(n_members, member, day, amount)
    check_positive("window_days", window_days)
    last, freq, money = zeros(n_members, -1), zeros(n_members, 0), zeros(n_members, 0)
    cdef const int64_t[:] mv = member, dv = day, av = amount
    cdef int64_t[:] lv = last, fv = freq, sv = money
    cdef int64_t start = asof_day - window_days, m, d
    cdef Py_ssize_t i, bad = -1
    with nogil:
        for i in range(mv.shape[0]):
            m, d = mv[i], dv[i]
            if m < 0 or m >= n_members:
                bad = i
                break
            if d > asof_day:
                continue
            if d > lv[m]:
                lv[m] = d
            if d > start:
                fv[m] += 1
                sv[m] += av[i]
    if bad >= 0:
        raise member_out_of_range(bad, mv[bad], n_members)
    return Totals(last, freq, money)


def rfm(member, day, amount, Py_ssize_t n_members, int64_t asof_day, int64_t window_days):
    """core.analytics.rfm.rfm on the kernels."""
    last, freq, money = aggregate(member, day, amount, n_members, asof_day, window_days)
    recency, r, f, m, segment = (zeros(n_members, 0) for _ in range(5))
    cdef const int64_t[:] lv = last, fv = freq, sv = money
    cdef int64_t[:] cv = recency, rv = r, fo = f, mo = m, gv = segment
    cdef Py_ssize_t i
    cdef int64_t* pool = <int64_t*>malloc(max(n_members, 1) * sizeof(int64_t))
    if pool == NULL:
        raise MemoryError()
    try:
        with nogil:
            for i in range(n_members):
                cv[i] = asof_day - lv[i] if fv[i] else -1
            quintiles(cv, fv, True, rv, pool)
            quintiles(fv, fv, False, fo, pool)
            quintiles(sv, fv, False, mo, pool)
            for i in range(n_members):
                if fv[i]:
                    gv[i] = 4 * (mo[i] < C_HIGH) + 2 * (rv[i] < C_HIGH) + (fo[i] < C_HIGH)
                else:
                    gv[i] = C_NO_SEGMENT
    finally:
        free(pool)
    return RfmResult(last, recency, freq, money, r, f, m, segment)


def classes(frequency, monetary, thresholds):
    """core.analytics.classes.classes on the kernels."""
    frequency, monetary = column(frequency), column(monetary)
    check_columns(0, frequency, monetary)
    cdef int64_t floors[6]
    for rank, (v, a) in enumerate(thresholds.floors()):
        floors[2 * rank], floors[2 * rank + 1] = v, a
    cdef const int64_t[:] fv = frequency, mv = monetary
    out = zeros(fv.shape[0], 0)
    cdef int64_t[:] ov = out
    cdef Py_ssize_t i
    cdef int64_t c
    with nogil:
        for i in range(fv.shape[0]):
            c = 0
            while c < 3 and not (fv[i] >= floors[2 * c] and mv[i] >= floors[2 * c + 1]):
                c += 1
            ov[i] = c
    return out


def churn_states(last_day, int64_t asof_day, thresholds):
    """core.analytics.churn.churn_states on the kernels."""
    last_day = column(last_day)
    cdef int64_t b0 = thresholds.active_days, b1 = thresholds.lapsing_days, b2 = thresholds.lapsed_days, gap
    cdef const int64_t[:] lv = last_day
    out = zeros(lv.shape[0], 0)
    cdef int64_t[:] ov = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(lv.shape[0]):
            gap = asof_day - lv[i]
            if lv[i] < 0:
                ov[i] = C_NEVER
            elif gap <= b0:
                ov[i] = 0
            elif gap <= b1:
                ov[i] = 1
            elif gap <= b2:
                ov[i] = 2
            else:
                ov[i] = C_DORMANT
    return out


cdef Py_ssize_t distinct(int64_t* days, Py_ssize_t k) noexcept nogil:
    """Sort days[0:k] and drop repeats in place; the count left."""
    cdef Py_ssize_t i, n = 0
    qsort(days, k, sizeof(int64_t), cmp_q)
    for i in range(k):
        if n == 0 or days[i] != days[n - 1]:
            days[n] = days[i]
            n += 1
    return n


def at_risk(member, day, Py_ssize_t n_members, int64_t asof_day, int64_t percentile=90, int64_t min_visits=4):
    """core.analytics.churn.at_risk on the kernels: a counting sort of visit days by member, then each member's
    sorted distinct days, gaps and nearest-rank percentile."""
    member, day = column(member), column(day)
    check_columns(n_members, member, day)
    check_positive("percentile", percentile, 1, 100)
    check_positive("min_visits", min_visits, 2)
    cdef const int64_t[:] mv = member, dv = day
    cdef Py_ssize_t i, rows = mv.shape[0], bad = -1, lo, k, longest = 0, rank
    cdef int64_t m
    cdef int64_t* start = <int64_t*>malloc((n_members + 1) * sizeof(int64_t))
    cdef int64_t* fill = <int64_t*>malloc((n_members + 1) * sizeof(int64_t))
    cdef int64_t* days = <int64_t*>malloc(max(rows, 1) * sizeof(int64_t))
    cdef int64_t* gaps = NULL
    found = []
    try:
        if start == NULL or fill == NULL or days == NULL:
            raise MemoryError()
        with nogil:
            for i in range(n_members + 1):
                start[i] = 0
            for i in range(rows):
                m = mv[i]
                if m < 0 or m >= n_members:
                    bad = i
                    break
                if dv[i] <= asof_day:
                    start[m + 1] += 1
        if bad >= 0:
            raise member_out_of_range(bad, mv[bad], n_members)
        with nogil:
            for i in range(n_members):
                longest = max(longest, start[i + 1])
                start[i + 1] += start[i]
                fill[i] = start[i]
            for i in range(rows):
                if dv[i] <= asof_day:
                    days[fill[mv[i]]] = dv[i]
                    fill[mv[i]] += 1
        gaps = <int64_t*>malloc(max(longest, 1) * sizeof(int64_t))
        if gaps == NULL:
            raise MemoryError()
        for m in range(n_members):
            lo = start[m]
            if start[m + 1] - lo < min_visits:
                continue
            k = distinct(days + lo, start[m + 1] - lo)
            if k < min_visits:
                continue
            for i in range(k - 1):
                gaps[i] = days[lo + i + 1] - days[lo + i]
            qsort(gaps, k - 1, sizeof(int64_t), cmp_q)
            rank = max(1, (percentile * (k - 1) + 99) // 100)
            if asof_day - days[lo + k - 1] > gaps[rank - 1]:
                found.append(AtRisk(m, asof_day - days[lo + k - 1], gaps[rank - 1]))
    finally:
        free(start)
        free(fill)
        free(days)
        free(gaps)
    return found
