pragma circom 2.1.0;

// A requantization fused with a 256-entry table (zkonnx, hand-written; src/ops/lut.ts, a table function of an
// accumulator): out = T[clamp(floor((acc * M + 2^(S-1)) / 2^S) + zp, 0, 255)].
//
// The caller binds u = acc * M + C, C = 2^(S-1) + (zp + 2^m) * 2^S, exactly as for RequantU8Wide/Narrow
// (circuits/requant.circom), whose decomposition this repeats: u has K = S + m + 1 bits, bits[S .. S+7] are the
// low 8 bits of the unclamped value y, bits[S+8 .. K-2] are non-zero iff y > 255 (wide form only), bits[K-1] is 1
// iff y >= 0. The table reads bits[S .. S+7] directly (Lut256Bits: the multilinear extension of each 16-entry slice
// on the low 4, a multiplexer tree on the high 4), so the uint8 value is never recomposed and decomposed again:
// the clamp picks T[0] (y < 0), T[255] (y > 255) or T[low].
//
// Soundness precondition (established by the emitter from exact integer bounds): 0 <= u < 2^K for every
// admissible input, K <= 250, so the decomposition is unique. Every <-- is pinned by the constraints after it.

// T[b0 + 2 b1 + ... + 128 b7] for 8 bits already constrained to be bits by the caller.
// Cost: 26 constraints (11 monomials, 15 multiplexers).
template Lut256Bits(T) {
    signal input b[8];
    signal output out;
    signal mono[16];
    mono[0] <== 1;
    for (var m = 1; m < 16; m++) {
        var low = m & (m - 1);
        if (low == 0) {
            var i = 0;
            while ((1 << i) != m) i++;
            mono[m] <== b[i];
        } else {
            mono[m] <== mono[low] * mono[m - low];
        }
    }
    var slice[16];
    for (var h = 0; h < 16; h++) {
        slice[h] = 0;
        for (var m = 0; m < 16; m++) {
            var c = 0;
            for (var r = 0; r < 16; r++) {
                if ((r & m) == r) {
                    var bitsOff = 0;
                    for (var q = 0; q < 4; q++) {
                        if (((m >> q) & 1) == 1 && ((r >> q) & 1) == 0) bitsOff++;
                    }
                    if (bitsOff % 2 == 0) { c += T[16 * h + r]; } else { c -= T[16 * h + r]; }
                }
            }
            slice[h] += c * mono[m];
        }
    }
    signal l1[8];
    signal l2[4];
    signal l3[2];
    for (var g = 0; g < 8; g++) l1[g] <== slice[2 * g] + b[4] * (slice[2 * g + 1] - slice[2 * g]);
    for (var g = 0; g < 4; g++) l2[g] <== l1[2 * g] + b[5] * (l1[2 * g + 1] - l1[2 * g]);
    for (var g = 0; g < 2; g++) l3[g] <== l2[2 * g] + b[6] * (l2[2 * g + 1] - l2[2 * g]);
    out <== l3[0] + b[7] * (l3[1] - l3[0]);
}

// m > 8. Cost: K + 31 constraints (K bits, 1 recomposition, 26 table, 2 is-zero, 1 clamp-high, 1 output).
template LutRequantWide(K, S, T) {
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

    component t = Lut256Bits(T);
    for (var i = 0; i < 8; i++) t.b[i] <== bits[S + i];

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
    // sel = T[low] - T[255] when y <= 255, else 0; out = T[0] when y < 0, else T[255] + sel.
    signal sel;
    sel <== isZero * (t.out - T[255]);
    out <== T[0] + bits[K - 1] * (sel + T[255] - T[0]);
}

// m == 8 (y never exceeds 255). Cost: K + 28 constraints (K bits, 1 recomposition, 26 table, 1 output).
template LutRequantNarrow(K, S, T) {
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

    component t = Lut256Bits(T);
    for (var i = 0; i < 8; i++) t.b[i] <== bits[S + i];
    out <== T[0] + bits[K - 1] * (t.out - T[0]);
}
