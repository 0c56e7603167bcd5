pragma circom 2.1.0;

// |x| of an integer x (zkonnx, hand-written; src/ops/lut.ts, Abs and PRelu on an accumulator).
//
// out is decomposed into n bits, so 0 <= out < 2^n, and (out - x) * (out + x) === 0, so out = x or out = -x in
// the field. Precondition (established by the emitter from exact integer bounds): -2^n < x < 2^n with n <= 200.
// Then exactly one of x and -x is a field element below 2^n when x != 0 (the other is above p - 2^n), and
// out = 0 when x = 0: out = |x|, and its bits are unique. Every <-- is pinned by the constraints after it.

// Cost: n + 2 constraints (n bits, 1 recomposition, 1 product).
template AbsAcc(n) {
    signal input x;
    signal output out;
    signal bits[n];
    var lc = 0;
    for (var i = 0; i < n; i++) {
        // x + 2^n >= 2^n iff x >= 0 (x + 2^n is a small non-negative integer either way).
        bits[i] <-- (((x + (1 << n)) >= (1 << n) ? x : -x) >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        lc += bits[i] * (1 << i);
    }
    out <== lc;
    (out - x) * (out + x) === 0;
}
