pragma circom 2.1.0;

include "isqrt.circom";
include "divide.circom";

// One normalization group (LayerNormalization row, InstanceNormalization channel, GroupNormalization group)
// of N uint8 values x (zkonnx, hand-written; src/ops/norm.ts gives the parameters and the error bound):
//
//   S = sum x,  c[i] = N x[i] - S                         (linear: N times the deviation from the mean)
//   R = floor(sqrt(SCALE * sum c[i]^2 + E))              (SCALE = 4^k; E >= 1 folds N^3 eps / s^2 in)
//   q[i] = round(K[i] * c[i] / R)                         (K[i] folds gamma, sqrt(N) and the output scale)
//
// so q[i] * sOut ~ gamma[i] * (x[i] - mean) / sqrt(var + eps). The bias beta is added by the caller (linear).
// Soundness: x[i] are uint8 (range-checked where they were made), so c[i], the squares and the radicand are
// exact integers below 2^(2 BR); E >= 1 makes the radicand >= 1, so the proven root R is >= 1 and the
// divisions are sound (circuits/isqrt.circom, circuits/divide.circom state their preconditions).

// Cost: N + 1 + (3 BR + 6) + per element with K[i] != 0: 1 + (BQ + 2 BR + 6).
template NormRow(N, SCALE, E, BR, BQ, QOFF, K) {
    signal input x[N];
    signal output q[N];
    signal sq[N];

    var S = 0;
    for (var i = 0; i < N; i++) S += x[i];
    var W = E;
    for (var i = 0; i < N; i++) {
        sq[i] <== (N * x[i] - S) * (N * x[i] - S);
        W += SCALE * sq[i];
    }
    component root = IsqrtFloor(BR);
    root.w <== W;

    component div[N];
    for (var i = 0; i < N; i++) {
        if (K[i] != 0) {
            div[i] = NormDivRound(BR, BQ, QOFF, K[i]);
            div[i].num <== N * x[i] - S;
            div[i].den <== root.r;
            q[i] <== div[i].q;
        } else {
            q[i] <== 0;
        }
    }
}
