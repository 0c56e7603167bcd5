pragma circom 2.1.0;

// Unpack one field element into N uint8 values, little-endian (zkonnx, hand-written; the layout is defined in
// src/verify/layout.ts):
//
//   packed = sum_{i < N} out[i] * 256^i,   0 <= out[i] <= 255
//
// Each byte out[i] is decomposed into 8 bits b0..b7 with booleanity constrained. Only b0..b6 are signals: the
// top bit is the linear expression t = out[i] - sum_{k < 7} b_k * 2^k (= 128 * b7), and the constraint
// t * (t - 128) === 0 admits exactly t in {0, 128}. So out[i] = sum_k b_k 2^k lies in [0, 255]: 8 quadratic
// constraints per byte range-check it, and the byte needs no separate binding row.
//
// Soundness: N <= 31, so sum out[i] * 256^i < 2^248 < r: the sum cannot wrap, a satisfying witness exists only
// when packed < 2^(8N), and then the bytes (and their bits) are unique. Every <-- is pinned by the constraints
// that follow it; nothing relies on an assert.

// Cost: 8 * N + 1 constraints (8 booleanity rows per byte, 1 recomposition of packed). The recomposition is a
// linear row; when N == 1 it is the equality packed == out[0], which circom --O1 removes unless both are public
// signals of main (a caller then pays 8).
template UnpackBytes(N) {
    assert(N >= 1 && N <= 31);
    signal input packed;
    signal output out[N];
    signal bits[N][7];
    var lc = 0;
    var e = 1;
    for (var i = 0; i < N; i++) {
        out[i] <-- (packed >> (8 * i)) & 255;
        var low = 0;
        for (var k = 0; k < 7; k++) {
            bits[i][k] <-- (out[i] >> k) & 1;
            bits[i][k] * (bits[i][k] - 1) === 0;
            low += bits[i][k] * (1 << k);
        }
        // The top bit, times 128: 0 or 128.
        (out[i] - low) * (out[i] - low - 128) === 0;
        lc += out[i] * e;
        e = e * 256;
    }
    lc === packed;
}
