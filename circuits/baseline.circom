pragma circom 2.1.0;

// circomlib-ml's constructions, re-created for the `zkonnx bench --baseline` comparison only. zkonnx circuits
// never include this file. It follows circomlib-ml (github.com/socathie/circomlib-ml): ReLU through
// Num2Bits(254) and Sign, max-pooling through GreaterThan(252) and a Switcher, weights as private inputs
// (so every multiply-accumulate is a constraint). Like circomlib-ml, it is NOT sound: Num2Bits(254) admits
// two decompositions for small values, and circomlib-ml's rescaling remainder is only asserted (omitted here,
// as it costs no constraint). It exists to measure the construction, not to be used.

include "bitify.circom";
include "sign.circom";
include "comparators.circom";
include "switcher.circom";

// circomlib-ml ReLU (IsPositive = Num2Bits(254) + Sign): 517 constraints.
template BaselineReLU() {
    signal input in;
    signal output out;
    component n2b = Num2Bits(254);
    n2b.in <== in;
    component sign = Sign();
    for (var i = 0; i < 254; i++) sign.in[i] <== n2b.out[i];
    out <== in * (1 - sign.sign);
}

// circomlib-ml Max(n): n GreaterThan(252) comparisons against the running maximum, each with a Switcher.
template BaselineMax(n) {
    signal input in[n];
    signal output out;
    component gts[n];
    component switchers[n + 1];
    signal maxs[n + 1];
    maxs[0] <== in[0];
    for (var i = 0; i < n; i++) {
        gts[i] = GreaterThan(252);
        switchers[i + 1] = Switcher();
        gts[i].in[1] <== maxs[i];
        gts[i].in[0] <== in[i];
        switchers[i + 1].sel <== gts[i].out;
        switchers[i + 1].L <== maxs[i];
        switchers[i + 1].R <== in[i];
        maxs[i + 1] <== switchers[i + 1].outL;
    }
    out <== maxs[n];
}
