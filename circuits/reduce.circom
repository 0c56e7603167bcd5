pragma circom 2.1.0;

// Absolute values and squares for ReduceL1, ReduceSumSquare and ReduceL2 (zkonnx, hand-written;
// src/ops/norm.ts).

// |d| of an integer with |d| < 2^B (precondition, from exact bounds: d = x - zp of a range-checked uint8).
// t = d + 2^B lies in [1, 2^(B+1)); its B + 1 bits are unique and the top bit s is 1 exactly when d >= 0;
// out = d * (2 s - 1). Every <-- is pinned by the booleanity rows and the recomposition.
// Cost: B + 3 constraints (B + 1 bits, 1 recomposition, 1 product).
template NormAbs(B) {
    signal input d;
    signal output out;
    signal bits[B + 1];
    var lc = 0;
    var e = 1;
    for (var i = 0; i <= B; i++) {
        bits[i] <-- ((d + (1 << B)) >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        lc += bits[i] * e;
        e = e + e;
    }
    lc === d + (1 << B);
    out <== d * (2 * bits[B] - 1);
}

// Squares of N integers d[i] = x[i] - ZP (x uint8): out[i] = d[i]^2.
// Cost: N constraints.
template NormSquares(N, ZP) {
    signal input x[N];
    signal output out[N];
    for (var i = 0; i < N; i++) out[i] <== (x[i] - ZP) * (x[i] - ZP);
}
