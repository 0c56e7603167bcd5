pragma circom 2.1.0;

// A signed integer of BITS bits (zkonnx, hand-written): constrains `in` to [-2^(BITS-1), 2^(BITS-1)), as a field
// element (a negative value is r + in). Used for the private biases of a circuit with hashed parameters, whose
// gadget bounds assume that range (src/ops/linear.ts privateBoundsOf).
//
//   in + 2^(BITS-1) = sum_{i < BITS} b[i] * 2^i,   b[i] in {0, 1}
//
// Soundness: BITS <= 64, so the sum is < 2^64 < r and cannot wrap: a satisfying witness exists only when
// in + 2^(BITS-1) (mod r) is in [0, 2^BITS), i.e. in is in the signed range, and then the bits are unique.
// Every <-- is pinned by the booleanity rows and the recomposition that follow it.

// Cost: BITS + 1 constraints (BITS booleanity rows, 1 recomposition row).
template SignedRange(BITS) {
    assert(BITS >= 2 && BITS <= 64);
    signal input in;
    signal b[BITS];
    var off = 1 << (BITS - 1);
    var lc = 0;
    var e = 1;
    for (var i = 0; i < BITS; i++) {
        b[i] <-- ((in + off) >> i) & 1;
        b[i] * (b[i] - 1) === 0;
        lc += b[i] * e;
        e = e + e;
    }
    lc === in + off;
}
