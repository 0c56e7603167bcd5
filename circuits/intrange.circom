pragma circom 2.1.0;

// The range check of an integer (or bool) model input (zkonnx, hand-written): constrains S * in + K to
// [0, 2^BITS), S in {1, -1}. An input element x with bounds [lo, hi] is checked by OffsetRange(B, -lo, 1)
// (x - lo >= 0) and, unless hi - lo + 1 == 2^B, by OffsetRange(B, hi, -1) (hi - x >= 0), B = bits of hi - lo.
//
//   S * in + K = sum_{i < BITS} b[i] * 2^i,   b[i] in {0, 1}
//
// Soundness: BITS <= 64, so the sum is < 2^64 < r and cannot wrap: a satisfying witness exists only when
// S * in + K (mod r) is in [0, 2^BITS), and then the bits are unique. With both checks, x - lo and hi - x
// are both in [0, 2^B) with B <= 64: x is in [lo, hi] (an x outside wraps to a value near r in one of them).
// Every <-- is pinned by the booleanity rows and the recomposition that follow it.

// Cost: BITS + 1 constraints (BITS booleanity rows, 1 recomposition row); circom --O1 removes the
// recomposition when it is the equality b[0] == in (BITS = 1, K = 0, S = 1: a bool input).
template OffsetRange(BITS, K, S) {
    assert(BITS >= 1 && BITS <= 64);
    signal input in;
    signal b[BITS];
    var lc = 0;
    var e = 1;
    for (var i = 0; i < BITS; i++) {
        b[i] <-- ((S * in + K) >> i) & 1;
        b[i] * (b[i] - 1) === 0;
        lc += b[i] * e;
        e = e + e;
    }
    lc === S * in + K;
}
