pragma circom 2.1.0;

// Requantize one accumulator to uint8 (zkonnx, hand-written; see src/ops/requant.ts for the parameters).
//
//   out = clamp(floor((acc * M + 2^(S-1)) / 2^S) + zp, 0, 255)
//
// The caller binds the input u = acc * M + C, with C = 2^(S-1) + (zp + 2^m) * 2^S and m = K - 1 - S (keeping
// M and C out of the template parameters means one template instance per (K, S), not one per channel, which
// keeps circom's compile time and memory low). Bits of u:
//   bits[0 .. S-1]     remainder of the division by 2^S (range-checked by being bits)
//   bits[S .. S+7]     the low 8 bits of the unclamped value
//   bits[S+8 .. K-2]   non-zero iff the unclamped value exceeds 255 (wide variant only)
//   bits[K-1]          1 iff the unclamped value is >= 0 (the offset 2^m makes it a sign bit)
//
// Soundness precondition (established by the emitter from exact integer bounds): for every admissible input,
// 0 <= u < 2^K, with K <= 250. Then the bit decomposition is unique, and so is out.
// Nothing here is checked by assert only: every <-- is pinned by the constraints that follow it.

// Cost: K + 5 constraints (K bits, 1 recomposition, 2 is-zero, 1 fill, 1 output).
template RequantU8Wide(K, S) {
    signal input u;
    signal output out;
    signal bits[K];
    var lc = 0;
    var e = 1;
    for (var i = 0; i < K; i++) {
        bits[i] <-- (u >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        lc += bits[i] * e;
        e = e + e;
    }
    lc === u;

    var low = 0;
    for (var i = 0; i < 8; i++) {
        low += bits[S + i] * (1 << i);
    }
    var high = 0;
    for (var i = S + 8; i < K - 1; i++) {
        high += bits[i];
    }
    // isZero = (high == 0); inv is a free helper when high == 0 (it affects nothing then).
    signal inv;
    signal isZero;
    inv <-- high != 0 ? 1 / high : 0;
    isZero <== 1 - high * inv;
    high * isZero === 0;
    // fill = 255 - low when the value overflows 255, else 0; out = sign * (low + fill).
    signal fill;
    fill <== (1 - isZero) * (255 - low);
    out <== bits[K - 1] * (low + fill);
}

// The same when the unclamped value can never exceed 255 (m == 8): K + 2 constraints.
template RequantU8Narrow(K, S) {
    signal input u;
    signal output out;
    signal bits[K];
    var lc = 0;
    var e = 1;
    for (var i = 0; i < K; i++) {
        bits[i] <-- (u >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        lc += bits[i] * e;
        e = e + e;
    }
    lc === u;

    var low = 0;
    for (var i = 0; i < 8; i++) {
        low += bits[S + i] * (1 << i);
    }
    out <== bits[K - 1] * low;
}
