pragma circom 2.1.0;

// The zkonnx hash (zkonnx, hand-written; the definition and its off-circuit twin are in
// src/verify/commitment.ts, and test/poseidon.test.ts checks that the two agree bit for bit):
//
//   items = [TAG, LEN, salt, in[0], ..., in[M-1]], padded with zeros to the smallest length 16 + 15 k (k >= 0)
//   h     = P16(items[0..16))
//   h     = P16([h, items[16 + 15 (c-1) .. 16 + 15 c)])   for each following chunk c = 1..k of 15 items
//   out   = h
//
// P16 is Poseidon16 of poseidon16.circom: Poseidon for t = 17 (initial state 0), the same function as
// circomlib's Poseidon(16), circomlibjs' poseidon on 16 inputs and src/verify/poseidon.ts. TAG separates kinds
// of commitment (TAG_INPUT, TAG_OUTPUT, TAG_PARAMS in commitment.ts); LEN is the number of values the elements
// encode (bytes, for packed uint8 tensors) and fixes the padding, so inputs of different lengths never hash
// alike; salt is 0 for an unsalted commitment.
//
// TAG and LEN are template parameters, bound to P16 inputs with <== to constants, which circom --O1 folds
// away: they cost nothing and are part of the circuit (a verifier who trusts the key trusts them).
//
// Soundness: there is no <-- here at all. Every signal is an output of a Poseidon16 component, whose every
// intermediate is fixed by <== (quadratic S-box rows, one linear output row), so `out` is a function of
// `in` and `salt` with exactly one satisfying value. The template does NOT check that in[] encodes LEN values
// (e.g. that each element is 31 range-checked bytes): the caller binds in[] to range-checked values (see
// UnpackBytes in pack.circom) or to signals whose range is known.
//
// Cost: one P16 is 610 constraints (609 S-box rows and its output row, see poseidon16.circom); the chaining,
// the inputs and the result are renamings and the constants are folded, which circom --O1 removes. Measured
// with circom --O1 and the direct backend: see COMMITMENT_COST_FORMULA in src/verify/commitment.ts (the test
// pins it per M).
include "poseidon16_constants.circom";
include "poseidon16.circom";

template ZkonnxHash(M, TAG, LEN) {
    assert(M >= 1);
    signal input in[M];
    signal input salt;
    signal output out;

    // 3 header items (TAG, LEN, salt) then M elements; the first P16 takes 16 items, each later one 15.
    var N = 3 + M;
    var K = 0;
    if (N > 16) {
        K = (N - 16 + 14) \ 15;
    }
    component p[K + 1];

    p[0] = Poseidon16();
    p[0].inputs[0] <== TAG;
    p[0].inputs[1] <== LEN;
    p[0].inputs[2] <== salt;
    for (var i = 3; i < 16; i++) {
        if (i - 3 < M) {
            p[0].inputs[i] <== in[i - 3];
        } else {
            p[0].inputs[i] <== 0;
        }
    }

    for (var c = 1; c <= K; c++) {
        p[c] = Poseidon16();
        // Chaining: the previous hash is the first input of the next P16.
        p[c].inputs[0] <== p[c - 1].out;
        for (var i = 1; i < 16; i++) {
            // items index 16 + 15 (c - 1) + (i - 1), i.e. element index that minus 3.
            var e = 13 + 15 * (c - 1) + (i - 1);
            if (e < M) {
                p[c].inputs[i] <== in[e];
            } else {
                p[c].inputs[i] <== 0;
            }
        }
    }

    out <== p[K].out;
}
