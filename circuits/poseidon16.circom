pragma circom 2.1.0;

// Poseidon over BN254 Fr for 16 inputs (t = 17, 8 full + 68 partial rounds, S-box x^5) (zkonnx, hand-written;
// the constants are generated into poseidon16_constants.circom by scripts/gen-poseidon-constants.mjs):
//
//   state = [0, inputs[0], ..., inputs[15]]
//   for each round r = 0..75:
//     state[i] += C[r * 17 + i]                        for every i
//     state[i]  = state[i]^5                           for every i (full rounds: r < 4 or r >= 72), else i = 0 only
//     state[i]  = sum_j M[i][j] * state[j]             for every i
//   out = state[0]
//
// This is the unoptimised reference algorithm of src/verify/poseidon.ts (same round order, same matrix index
// order), so it is the same function as circomlib's Poseidon(16) and circomlibjs' poseidon on 16 inputs
// (test/poseidon.test.ts checks all three against each other, in and out of the circuit).
//
// The state lives in vars, i.e. linear combinations of signals: adding round constants and mixing with M are
// linear, so they cost no constraint. Only the S-box makes signals: for x a linear combination,
//   x2 <== x * x;  x4 <== x2 * x2;  y <== x4 * x;
// and the state element becomes the signal y. The one exception is state[0] in round 0: it is the constant
// 0 + C[0] (the initial state element is 0), so its fifth power is computed as a constant var, with no signal.
//
// Soundness: there is no <-- here at all. Each S-box signal is fixed by its own <== (a product of values that
// are already fixed), and out by a linear row, so out is a function of inputs with exactly one satisfying
// witness. Nothing relies on an assert.
//
// Cost: (8 * 17 + 68 - 1) S-boxes * 3 = 609 quadratic rows, plus 1 linear row for out (a linear combination
// of the last round's 17 S-box outputs, which circom --O1 keeps since it is not a renaming): 610 in all.
// (circomlib's Poseidon(16) computes the same function in 2092 rows under --O1: its round constants and
// mixing are linear rows between signals that --O1 does not remove.) The price of keeping the state in vars
// is denser rows: an S-box input in the partial rounds is a combination of up to 17 + 68 signals.
include "poseidon16_constants.circom";

template Poseidon16() {
    signal input inputs[16];
    signal output out;

    var T = 17;
    var ROUNDS_F = 8;
    var ROUNDS_P = 68;
    var C[1292] = POSEIDON16_C();
    var M[17][17] = POSEIDON16_M();

    // The S-box signals, numbered in the order the S-boxes are applied (round by round, element by element),
    // skipping the constant S-box of state[0] in round 0.
    var N_SBOX = ROUNDS_F * T + ROUNDS_P - 1;
    signal x2[N_SBOX];
    signal x4[N_SBOX];
    signal y[N_SBOX];

    var state[17];
    var mixed[17];
    state[0] = 0;
    for (var i = 0; i < 16; i++) {
        state[i + 1] = inputs[i];
    }

    var k = 0;
    for (var r = 0; r < ROUNDS_F + ROUNDS_P; r++) {
        var full = 0;
        if (r < ROUNDS_F \ 2 || r >= ROUNDS_F \ 2 + ROUNDS_P) {
            full = 1;
        }
        for (var i = 0; i < T; i++) {
            state[i] = state[i] + C[r * T + i];
            if (full == 1 || i == 0) {
                if (r == 0 && i == 0) {
                    // The constant C[0]: its fifth power is a constant too.
                    var c2 = state[0] * state[0];
                    state[0] = c2 * c2 * state[0];
                } else {
                    x2[k] <== state[i] * state[i];
                    x4[k] <== x2[k] * x2[k];
                    y[k] <== x4[k] * state[i];
                    state[i] = y[k];
                    k++;
                }
            }
        }
        for (var i = 0; i < T; i++) {
            var acc = 0;
            for (var j = 0; j < T; j++) {
                acc += M[i][j] * state[j];
            }
            mixed[i] = acc;
        }
        for (var i = 0; i < T; i++) {
            state[i] = mixed[i];
        }
    }
    assert(k == N_SBOX);

    out <== state[0];
}
