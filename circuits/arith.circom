pragma circom 2.1.0;

// Comparison bits (zkonnx, hand-written; src/ops/arith.ts).

// out = 1 if d >= 0, else 0, for an integer d known to satisfy -2^B <= d < 2^B (B <= 250; the emitter derives B
// from exact integer bounds of d).
//
//   t = d + 2^B = sum_{i <= B} bits[i] * 2^i,   bits[i] in {0, 1}
//
// Soundness: t lies in [0, 2^(B+1)), far below the field, so its B + 1 bits are unique, and the top bit is 1
// exactly when t >= 2^B, i.e. d >= 0. The output is that bit (the equality out == bits[B] is merged by --O1).
// Every <-- is pinned by the booleanity rows and the recomposition.

// Cost: B + 2 constraints (B + 1 booleanity rows, 1 recomposition).
template GeZero(B) {
    assert(B >= 1 && B <= 250);
    signal input d;
    signal output out;
    signal bits[B + 1];
    var lc = 0;
    var e = 1;
    var t = d + (1 << B);
    for (var i = 0; i <= B; i++) {
        bits[i] <-- (t >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        lc += bits[i] * e;
        e = e + e;
    }
    lc === d + (1 << B);
    out <== bits[B];
}

// out = 1 if d == 0, else 0, for any field element d.
//
//   out = 1 - d * inv,   d * out = 0
//
// Soundness: if d != 0, d * out = 0 forces out = 0, and then d * inv = 1 pins inv = 1/d. If d = 0 the first row
// gives out = 1 whatever inv is (inv is a free helper that affects nothing). No range precondition.

// Cost: 2 constraints.
template EqZero() {
    signal input d;
    signal output out;
    signal inv;
    inv <-- d != 0 ? 1 / d : 0;
    out <== 1 - d * inv;
    d * out === 0;
}

// N product signals (zkonnx): the parent assigns `in[i] <== a * b` (one quadratic row each); `out[i]` is the
// same wire (--O1 merges the equality), named as a component's output so that the emitter sees a bare signal.

// Cost: 0 constraints of its own (the parent's N assignments are counted by the op).
template ArithSignals(N) {
    signal input in[N];
    signal output out[N];
    for (var i = 0; i < N; i++) out[i] <== in[i];
}

// Rounded division of integers (zkonnx): q = floor((2 n sign(d) + |d|) / (2 |d|)), i.e. n / d rounded half up,
// for d != 0 with -2^BD <= d < 2^BD and |q| < 2^BQ (the emitter derives BD and BQ from exact bounds; BQ + BD <= 200).
//
//   d * inv = 1                          (d != 0: no witness exists for d = 0)
//   s = [d >= 0] (GeZero), sg = 2 s - 1,  ad = d * sg = |d|,  num = n * sg
//   2 num + ad = q * 2 ad + r,           0 <= r < 2^(BD+1),  0 <= 2 ad - 1 - r < 2^(BD+1),  0 <= q + 2^BQ < 2^(BQ+1)
//
// Soundness: s is the true sign (GeZero's precondition holds), so ad = |d| >= 1. With q and r range-checked, both
// sides of the division row are below 2^(BQ+BD+3) in magnitude, far from the field size, so the row holds over the
// integers; 0 <= r < 2 ad then makes q the unique floor. Every <-- is pinned by these rows.

// Cost: 3 BD + BQ + 13 constraints (1 inverse, BD + 2 sign, 3 products ad/num/q*ad, 1 division row,
// BD + 2 and BD + 2 for r's two range checks, BQ + 2 for q).
template DivRound(BD, BQ) {
    assert(BD >= 1 && BQ >= 1 && BD + BQ <= 200);
    signal input n;
    signal input d;
    signal output q;
    signal inv;
    inv <-- d != 0 ? 1 / d : 0;
    d * inv === 1;
    component sign = GeZero(BD);
    sign.d <== d;
    signal ad;
    ad <== d * (2 * sign.out - 1);
    signal num;
    num <== n * (2 * sign.out - 1);
    signal r;
    var x = 2 * num + ad + 2 * ad * (1 << BQ);
    q <-- x \ (2 * ad) - (1 << BQ);
    r <-- x % (2 * ad);
    signal qd;
    qd <== q * ad;
    2 * num + ad === 2 * qd + r;
    signal rb[BD + 1];
    signal sb[BD + 1];
    var lr = 0;
    var ls = 0;
    var e = 1;
    var slack = 2 * ad - 1 - r;
    for (var i = 0; i <= BD; i++) {
        rb[i] <-- (r >> i) & 1;
        rb[i] * (rb[i] - 1) === 0;
        lr += rb[i] * e;
        sb[i] <-- (slack >> i) & 1;
        sb[i] * (sb[i] - 1) === 0;
        ls += sb[i] * e;
        e = e + e;
    }
    lr === r;
    ls === 2 * ad - 1 - r;
    signal qb[BQ + 1];
    var lq = 0;
    e = 1;
    var qs = q + (1 << BQ);
    for (var i = 0; i <= BQ; i++) {
        qb[i] <-- (qs >> i) & 1;
        qb[i] * (qb[i] - 1) === 0;
        lq += qb[i] * e;
        e = e + e;
    }
    lq === q + (1 << BQ);
}

// DivRound for a divisor known (from exact bounds) to be >= 0 (the emitter negates n and d for a divisor known to
// be <= 0): q = floor((2 n + d) / (2 d)), d != 0 proven by its inverse, 0 <= d < 2^BD. Same soundness argument with
// sign(d) = 1 fixed.

// Cost: 2 BD + BQ + 9 constraints (1 inverse, 1 product q*d, 1 division row, BD + 2 and BD + 2 for r, BQ + 2 for q).
template DivRoundNonNeg(BD, BQ) {
    assert(BD >= 1 && BQ >= 1 && BD + BQ <= 200);
    signal input n;
    signal input d;
    signal output q;
    signal inv;
    inv <-- d != 0 ? 1 / d : 0;
    d * inv === 1;
    signal r;
    var x = 2 * n + d + 2 * d * (1 << BQ);
    q <-- x \ (2 * d) - (1 << BQ);
    r <-- x % (2 * d);
    signal qd;
    qd <== q * d;
    2 * n + d === 2 * qd + r;
    signal rb[BD + 1];
    signal sb[BD + 1];
    var lr = 0;
    var ls = 0;
    var e = 1;
    var slack = 2 * d - 1 - r;
    for (var i = 0; i <= BD; i++) {
        rb[i] <-- (r >> i) & 1;
        rb[i] * (rb[i] - 1) === 0;
        lr += rb[i] * e;
        sb[i] <-- (slack >> i) & 1;
        sb[i] * (sb[i] - 1) === 0;
        ls += sb[i] * e;
        e = e + e;
    }
    lr === r;
    ls === 2 * d - 1 - r;
    signal qb[BQ + 1];
    var lq = 0;
    e = 1;
    var qs = q + (1 << BQ);
    for (var i = 0; i <= BQ; i++) {
        qb[i] <-- (qs >> i) & 1;
        qb[i] * (qb[i] - 1) === 0;
        lq += qb[i] * e;
        e = e + e;
    }
    lq === q + (1 << BQ);
}
