pragma circom 2.1.0;

// Max and min of two integers whose difference is known to be small (zkonnx, hand-written).
//
// Soundness precondition (established by the emitter from exact integer bounds): |a - b| < 2^B, B <= 250.
// Then t = a - b + 2^B lies in [1, 2^(B+1)), its B + 1 bits are unique, and the top bit s is 1 exactly when
// a >= b. Every <-- below is pinned by the constraints that follow it.

// Cost: B + 3 constraints (B + 1 bits, 1 recomposition, 1 selection).
template Max2(B) {
    signal input a;
    signal input b;
    signal output out;
    signal bits[B + 1];
    var lc = 0;
    var e = 1;
    var t = a - b + (1 << B);
    for (var i = 0; i <= B; i++) {
        bits[i] <-- (t >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        lc += bits[i] * e;
        e = e + e;
    }
    lc === a - b + (1 << B);
    // out = a if a >= b, else b
    out <== b + bits[B] * (a - b);
}

// Cost: B + 3 constraints, as Max2.
template Min2(B) {
    signal input a;
    signal input b;
    signal output out;
    signal bits[B + 1];
    var lc = 0;
    var e = 1;
    var t = a - b + (1 << B);
    for (var i = 0; i <= B; i++) {
        bits[i] <-- (t >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        lc += bits[i] * e;
        e = e + e;
    }
    lc === a - b + (1 << B);
    // out = b if a >= b, else a
    out <== a + bits[B] * (b - a);
}
