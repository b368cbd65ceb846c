# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernels of core/pricing.py and core/batch.py: the same integer arithmetic over typed memoryviews.

core/ stays the oracle; tests/pricing/test_native.py proves these return exactly what the reference returns.
Products of two amounts go through 128-bit integers so that no spread can overflow.
"""
from array import array

from libc.stdint cimport int64_t

from core.batch import BatchResult
from core.pricing import PriceResult
from core.pricing import price_basket as reference_price_basket

cdef extern from *:
    ctypedef long long i128 "__int128"

cdef enum:  # rows of the per-line output table, in PriceResult order
    GROSS = 0
    DISCOUNT = 1
    THRESHOLD = 2
    COUPON = 3
    VISITS = 4
    POINTS_FEN = 5
    POINTS_USED = 6
    PAID = 7
    EARNED = 8
    NCOL = 9


cdef inline int64_t percent_of(int64_t fen, int64_t percent) noexcept nogil:
    return (fen * percent * 2 + 100) // 200


cdef void spread(int64_t total, const int64_t* w, const signed char* mask, int n,
                 int64_t* out, int64_t* rem) noexcept nogil:
    """Largest-remainder split of total over masked lines, as core.pricing.spread over the same lines."""
    cdef int64_t wsum = 0, given = 0, best
    cdef int i, pick, m = 0
    cdef int64_t k
    cdef bint even
    for i in range(n):
        out[i] = 0
        if mask[i]:
            wsum += w[i]
            m += 1
    if m == 0:
        return
    even = wsum == 0
    if even:
        wsum = m
    for i in range(n):
        if mask[i]:
            if even:
                out[i] = total // wsum
                rem[i] = total % wsum
            else:
                out[i] = <int64_t>((<i128>total * w[i]) // wsum)
                rem[i] = <int64_t>((<i128>total * w[i]) % wsum)
            given += out[i]
        else:
            rem[i] = -1
    for k in range(total - given):
        pick, best = -1, -1
        for i in range(n):
            if rem[i] > best:
                best, pick = rem[i], i
        out[pick] += 1
        rem[pick] = -1


cdef int price_one(
    int n, const int64_t* price, const int64_t* qty, const int64_t* cat, const int64_t* sku,
    const int64_t* rate, const int64_t* covered, int64_t tier_pay, const int64_t* cat_pay,
    const int64_t* thr, int nthr, const int64_t* cpn, int ncpn,
    int64_t points, int64_t step_points, int64_t step_fen, int64_t cap_percent, int64_t multiplier,
    const int64_t* bonus, int nbonus, int64_t extra,
    int64_t* out, int ld, int64_t* cpn_amount, int64_t* scratch, signed char* masks,
    int64_t* earned_total, bint per_line,
) noexcept nogil:
    """Price one basket into out[column * ld + line]; 0, 1 + k for coupon k below its minimum, -1 above the cap,
    -2 for a quantity below 1 (checked first: a zero would divide by zero below).

    thr holds rows of 4 (min, off, repeat, category), cpn rows of 5 (kind, value, min, scope, target), bonus rows
    of 2; scratch holds 4 rows of ld int64 and masks 2 rows of ld flags.
    """
    cdef int i, k
    cdef int64_t base, amount, best = 0, low, value, cap, total_due = 0, total_paid = 0, whole, part, earned
    cdef int64_t* gross = out
    cdef int64_t* discount = out + DISCOUNT * ld
    cdef int64_t* threshold = out + THRESHOLD * ld
    cdef int64_t* coupon = out + COUPON * ld
    cdef int64_t* visits = out + VISITS * ld
    cdef int64_t* points_fen = out + POINTS_FEN * ld
    cdef int64_t* points_used = out + POINTS_USED * ld
    cdef int64_t* paid = out + PAID * ld
    cdef int64_t* earned_out = out + EARNED * ld
    cdef int64_t* cur = scratch
    cdef int64_t* share = scratch + ld
    cdef int64_t* rem = scratch + 2 * ld
    cdef int64_t* w = scratch + 3 * ld
    cdef signed char* scope = masks
    cdef signed char* best_scope = masks + ld
    cdef const int64_t* row
    for i in range(n):
        if qty[i] < 1:
            return -2
    for i in range(n):
        gross[i] = price[i] * qty[i]
        cur[i] = percent_of(percent_of(gross[i], tier_pay), cat_pay[cat[i]])
        discount[i] = gross[i] - cur[i]
        threshold[i] = 0
        coupon[i] = 0
        best_scope[i] = 0
    for k in range(nthr):
        row = thr + 4 * k
        base = 0
        for i in range(n):
            scope[i] = row[3] < 0 or cat[i] == row[3]
            if scope[i]:
                base += cur[i]
        low = row[0]
        if base >= low:
            amount = row[1] * (base // low if row[2] else 1)
            if amount > base:
                amount = base
            if amount > best:
                best = amount
                for i in range(n):
                    best_scope[i] = scope[i]
    if best:
        spread(best, cur, best_scope, n, share, rem)
        for i in range(n):
            threshold[i] = share[i]
            cur[i] -= share[i]
    for k in range(ncpn):
        row = cpn + 5 * k
        base = 0
        for i in range(n):
            scope[i] = row[3] == 0 or (row[3] == 1 and cat[i] == row[4]) or (row[3] == 2 and sku[i] == row[4])
            if scope[i]:
                base += cur[i]
        if base < row[2]:
            return 1 + k
        amount = percent_of(base, row[1]) if row[0] == 2 else min(row[1], base)
        cpn_amount[k] = amount
        spread(amount, cur, scope, n, share, rem)
        for i in range(n):
            coupon[i] += share[i]
            cur[i] -= share[i]
    for i in range(n):
        visits[i] = cur[i] * covered[i] // qty[i]
        w[i] = cur[i] - visits[i]
        total_due += w[i]
        scope[i] = 1
    value = points // step_points * step_fen
    cap = total_due * cap_percent // 100
    if value > cap:
        return -1
    spread(value, w, scope, n, points_fen, rem)
    spread(points, w, scope, n, points_used, rem)
    base = 0
    for i in range(n):
        paid[i] = w[i] - points_fen[i]
        total_paid += paid[i]
        w[i] = paid[i] * rate[i]
        base += w[i]
    whole, part = base // 1000000, base % 1000000
    earned = whole * multiplier + part * multiplier // 1000000 + extra
    amount = 0
    for k in range(nbonus):
        if total_paid >= bonus[2 * k] and bonus[2 * k + 1] > amount:
            amount = bonus[2 * k + 1]
    earned_total[0] = earned + amount
    if per_line:  # a batch needs only the total; spreading it back over the lines is for refunds
        spread(earned + amount, w, scope, n, earned_out, rem)
    return 0


cdef int64_t[:, :] table(rows, int width):
    """A 2-D int64 memoryview of rows (at least one row, so an empty table still has a shape)."""
    flat = array("q", [v for row in rows for v in row] or [0] * width)
    return memoryview(flat).cast("B").cast("q", [max(len(rows), 1), width])


def _q(values):
    """An int64 buffer of `values` without a copy when it already is one."""
    return values if isinstance(values, array) and values.typecode == "q" else array("q", values)


cdef object flat(rows):
    """Rows of a small rule table as one int64 buffer (one zero when empty, so it has an address)."""
    return array("q", [v for row in rows for v in row] or [0])


def price_basket(inp, coupon_codes=()):
    """core.pricing.price_basket on the kernel; a refused basket is re-run on the reference for its exact error."""
    cdef Py_ssize_t n = len(inp.price), ncpn = len(inp.coupons)
    cdef int64_t earned = 0
    work = array("q", bytes(8 * (NCOL + 4) * n + 8 * (ncpn + 1)))  # outputs, scratch, coupon amounts
    cdef const int64_t[:] price = _q(inp.price), qty = _q(inp.qty), cat = _q(inp.cat), sku = _q(inp.sku)
    cdef const int64_t[:] rate = _q(inp.rate), covered = _q(inp.covered)
    cdef int64_t[:] w = work, cat_pay = array("q", list(inp.cat_pay) or [100])
    cdef int64_t[:] thr = flat(inp.thresholds), cpn = flat(inp.coupons), bonus = flat(inp.spend_bonus)
    cdef signed char[:] masks = array("b", bytes(2 * n + 1))
    if n and not (0 <= min(inp.cat) and max(inp.cat) < len(inp.cat_pay)):
        raise IndexError("a line's category index is outside cat_pay")  # the kernel does not bounds-check
    status = price_one(
        n, &price[0], &qty[0], &cat[0], &sku[0], &rate[0], &covered[0], inp.tier_pay, &cat_pay[0],
        &thr[0], len(inp.thresholds), &cpn[0], ncpn,
        inp.points, inp.step_points, inp.step_fen, inp.cap_percent, inp.multiplier,
        &bonus[0], len(inp.spend_bonus), inp.extra_points,
        &w[0], n, &w[(NCOL + 4) * n], &w[NCOL * n], &masks[0], &earned, True,
    )
    if status:
        reference_price_basket(inp, coupon_codes)
        raise AssertionError(f"kernel refused a basket the reference accepts (status {status})")
    values = work.tolist()
    end = (NCOL + 4) * n
    return PriceResult(*[values[k * n:(k + 1) * n] for k in range(NCOL)], values[end:end + ncpn])


def price_batch(c, b):
    """core.batch.price_batch on the kernel: no Python object is touched inside the basket loop."""
    cdef const int64_t[:] offsets = _q(b.offsets), bsku = _q(b.sku), bqty = _q(b.qty), tier = _q(b.tier)
    cdef const int64_t[:] coupon = _q(b.coupon), bpoints = _q(b.points), day = _q(b.day)
    cdef const int64_t[:] weekday = _q(b.weekday), dom = _q(b.dom), flags = _q(b.flags)
    cdef const int64_t[:] price = _q(c.price), pcat = _q(c.cat), prate = _q(c.rate), min_rank = _q(c.min_rank)
    cdef const int64_t[:] tier_pay = _q(c.tier_pay), tier_mult = _q(c.tier_mult), tier_bonus = _q(c.tier_bonus)
    cdef const int64_t[:, :] cat_disc = table(c.cat_disc, 4), thr_all = table(c.thresholds, 6)
    cdef const int64_t[:, :] cpn_all = table(c.coupons, 5), bonus = table(c.spend_bonus, 2)
    cdef int ncat = max(len(c.categories), 1), ndisc = len(c.cat_disc), nthr_all = len(c.thresholds)
    cdef int nbonus = len(c.spend_bonus), nb = len(offsets) - 1
    cdef int64_t sp = c.step_points, sf = c.step_fen, cap = c.cap_percent
    cdef int64_t md_weekday = c.md_weekday, md_dom = c.md_dom, md_pct = c.md_percent, bday_pct = c.bday_percent
    cdef int maxn = 1, bi, i, j, k, n, nthr, status
    cdef int64_t t, mult, gross, net, pts, earned
    for bi in range(nb):
        maxn = max(maxn, offsets[bi + 1] - offsets[bi])
    # The loop below does not bounds-check: refuse indices outside the tables here, once.
    cdef Py_ssize_t nl = len(bsku), nprod = len(price), ntier = len(tier_pay), ncoupon = len(c.coupons)
    if nb < 0:
        raise IndexError("batch offsets must hold at least the starting 0")
    cdef bint bad = offsets[0] != 0 or offsets[nb] > nl
    with nogil:
        for j in range(nl):
            bad = bad or bsku[j] < 0 or bsku[j] >= nprod
        for bi in range(nb):
            bad = bad or offsets[bi + 1] < offsets[bi] or tier[bi] < -1 or tier[bi] >= ntier
            bad = bad or coupon[bi] < -1 or coupon[bi] >= ncoupon
    if bad:
        raise IndexError("batch offsets, SKU, tier or coupon indices do not fit the compiled rules")
    cdef int64_t[:, :] lines = table([[0] * maxn] * 6, maxn)
    cdef int64_t[:, :] out = table([[0] * maxn] * NCOL, maxn)
    cdef int64_t[:, :] scratch = table([[0] * maxn] * 4, maxn)
    cdef signed char[:, :] masks = memoryview(bytearray(2 * maxn)).cast("b", [2, maxn])
    cdef int64_t[:] cat_pay = array("q", [100] * ncat)
    cdef int64_t[:, :] thr = table([[0] * 4] * max(nthr_all, 1), 4)
    cdef int64_t[:] amounts = array("q", [0])
    res_net, res_disc, res_pts, res_earned, res_status = (array("q", bytes(8 * nb)) for _ in range(5))
    cdef int64_t[:] o_net = res_net, o_disc = res_disc, o_pts = res_pts, o_earned = res_earned, o_status = res_status
    with nogil:
        for bi in range(nb):
            n = offsets[bi + 1] - offsets[bi]
            t = tier[bi]
            status = 0
            for i in range(n):
                j = bsku[offsets[bi] + i]
                if min_rank[j] > (t if t > 0 else 0):
                    status = 3
                lines[0, i] = price[j]
                lines[1, i] = bqty[offsets[bi] + i]
                lines[2, i] = pcat[j]
                lines[3, i] = j
                lines[4, i] = prate[j]
                lines[5, i] = 0
            o_status[bi] = status
            if status:
                continue
            for k in range(ncat):
                cat_pay[k] = 100
            for k in range(ndisc):
                if (cat_disc[k, 2] == 0 or day[bi] >= cat_disc[k, 2]) and (cat_disc[k, 3] == 0 or day[bi] <= cat_disc[k, 3]):
                    cat_pay[cat_disc[k, 0]] = cat_disc[k, 1]
            nthr = 0
            for k in range(nthr_all):
                if (thr_all[k, 4] == 0 or day[bi] >= thr_all[k, 4]) and (thr_all[k, 5] == 0 or day[bi] <= thr_all[k, 5]):
                    for i in range(4):
                        thr[nthr, i] = thr_all[k, i]
                    nthr += 1
            mult = (tier_mult[t] if t >= 0 else 0)
            mult = mult * (md_pct if (weekday[bi] == md_weekday or dom[bi] == md_dom) else 100) // 100
            mult = mult * (bday_pct if flags[bi] & 1 else 100) // 100
            k = coupon[bi]
            status = price_one(
                n, &lines[0, 0], &lines[1, 0], &lines[2, 0], &lines[3, 0], &lines[4, 0], &lines[5, 0],
                tier_pay[t] if t >= 0 else 100, &cat_pay[0], &thr[0, 0], nthr,
                &cpn_all[k if k >= 0 else 0, 0], 1 if k >= 0 else 0,
                bpoints[bi], sp, sf, cap, mult, &bonus[0, 0], nbonus if t >= 0 else 0,
                tier_bonus[t] if (t >= 0 and flags[bi] & 2) else 0,
                &out[0, 0], maxn, &amounts[0], &scratch[0, 0], &masks[0, 0], &earned, False,
            )
            if status:
                o_status[bi] = 1 if status > 0 else (2 if status == -1 else 4)
                continue
            gross = net = pts = 0
            for i in range(n):
                gross += out[GROSS, i]
                net += out[GROSS, i] - out[DISCOUNT, i] - out[THRESHOLD, i] - out[COUPON, i]
                pts += out[POINTS_FEN, i]
            o_net[bi], o_disc[bi], o_pts[bi], o_earned[bi] = net, gross - net, pts, earned
    return BatchResult(res_net, res_disc, res_pts, res_earned, res_status)
