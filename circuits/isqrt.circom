pragma circom 2.1.0;

// Integer square root (zkonnx, hand-written; src/ops/norm.ts): r = floor(sqrt(w)), proven by
//
//   r in [0, 2^BR)  (BR bits),   w - r^2 in [0, 2^(BR+1)),   r^2 + 2r - w in [0, 2^(BR+1))
//
// i.e. r^2 <= w < (r + 1)^2, which has exactly one solution r >= 0.
// Soundness preconditions (established by the caller): w is an integer in [0, 2^(2 BR)), BR <= 120. Then r^2,
// w - r^2 and r^2 + 2r - w are integers of magnitude below 2^(2 BR + 2), far below the field size, so each
// range check holds as an integer inequality. A wrong root (r - 1, r + 1, r + p) violates one of them.
// When w >= 1 the root is >= 1 (r = 0 would need w < 1): the caller uses that for a division.
// Every <-- is pinned by the booleanity rows and recompositions that follow it.

function zkonnxIsqrt(w, BR) {
    var r = 0;
    for (var b = BR - 1; b >= 0; b--) {
        var t = r + (1 << b);
        if (t * t <= w) r = t;
    }
    return r;
}

// Cost: 3 * BR + 6 constraints (BR bits, 1 for r, 1 product r * r, 2 * (BR + 1) bits, 2 recompositions).
template IsqrtFloor(BR) {
    signal input w;
    signal output r;
    signal b[BR];
    signal r2;
    signal lo[BR + 1];
    signal hi[BR + 1];

    var root = zkonnxIsqrt(w, BR);
    var lc = 0;
    var e = 1;
    for (var i = 0; i < BR; i++) {
        b[i] <-- (root >> i) & 1;
        b[i] * (b[i] - 1) === 0;
        lc += b[i] * e;
        e = e + e;
    }
    r <== lc;
    r2 <== r * r;

    var ll = 0;
    var lh = 0;
    e = 1;
    for (var i = 0; i <= BR; i++) {
        lo[i] <-- ((w - r2) >> i) & 1;
        lo[i] * (lo[i] - 1) === 0;
        ll += lo[i] * e;
        hi[i] <-- ((r2 + 2 * r - w) >> i) & 1;
        hi[i] * (hi[i] - 1) === 0;
        lh += hi[i] * e;
        e = e + e;
    }
    ll === w - r2;
    lh === r2 + 2 * r - w;
}
