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
