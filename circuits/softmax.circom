pragma circom 2.1.0;

include "lut.circom";
include "divide.circom";

// Softmax of one row of N >= 2 uint8 logits x (zkonnx, hand-written; src/ops/norm.ts gives T, K and the
// error bound):
//
//   m = max x                   (m - x[i] in [0, 255] by the table's bit decomposition, and
//                                prod (m - x[i]) = 0: m is one of the x[i], hence their maximum)
//   e[i] = T[m - x[i]]          (T[d] = round(2^F exp(-d s)), so T[0] = 2^F and S >= 2^F >= 1)
//   S = sum e[i]
//   p[i] = round(K e[i] / S)    (probabilities at scale 1/K)
//
// Soundness: x[i] are uint8 (range-checked where they were made). m is pinned: any m' > max x makes every
// m' - x[i] > 0 (the product cannot vanish), any m' < max x makes one m' - x[i] negative (a field element
// that no 8-bit decomposition represents). S is an integer in [2^F, N 2^F], below 2^BS.
// Every <-- is pinned by the constraints that follow it.

// Cost: 36 N + (N - 1) + 1 + N (BQ + 2 BS + 6).
template SoftmaxRow(N, BS, BQ, K, T) {
    signal input x[N];
    signal output p[N];
    signal m;
    signal chain[N - 1];

    var best = x[0];
    for (var i = 1; i < N; i++) {
        if (x[i] > best) best = x[i];
    }
    m <-- best;

    component lut[N];
    var sum = 0;
    for (var i = 0; i < N; i++) {
        lut[i] = Lut256(T);
        lut[i].x <== m - x[i];
        sum += lut[i].out;
    }
    chain[0] <== (m - x[0]) * (m - x[1]);
    for (var i = 2; i < N; i++) chain[i - 1] <== chain[i - 2] * (m - x[i]);
    chain[N - 2] === 0;

    signal S;
    S <== sum;
    component div[N];
    for (var i = 0; i < N; i++) {
        div[i] = NormDivRound(BS, BQ, 0, K);
        div[i].num <== lut[i].out;
        div[i].den <== S;
        p[i] <== div[i].q;
    }
}

// The log-sum-exp of one row of N >= 2 uint8 logits x, split as m = max x and L (zkonnx, hand-written;
// src/ops/norm.ts gives T, TL and the error bound):
//
//   m, e[i] = T[m - x[i]], S = sum e[i]      (as SoftmaxRow: m is proven to be the maximum, S in [2^F, N 2^F])
//   j = round((S - 2^F) * 255 / D)            (D = (N - 1) 2^F: j in [0, 255], by NormDivRoundConst)
//   L = TL[j]                                  (TL[j] ~ log(1 + j (N - 1) / 255) at the output scale)
//
// log(sum exp(s x)) = s m + log(S / 2^F) ~ s m + L; LogSoftmax is s (x[i] - m) - L (linear in m and L).
// Cost: 36 N + (N - 1) + 1 + (8 + 2 BD + 5) + 35.
template LogSumExpRow(N, D, BD, T, TL, F) {
    signal input x[N];
    signal output m;
    signal output L;
    signal chain[N - 1];

    var best = x[0];
    for (var i = 1; i < N; i++) {
        if (x[i] > best) best = x[i];
    }
    m <-- best;

    component lut[N];
    var sum = 0;
    for (var i = 0; i < N; i++) {
        lut[i] = Lut256(T);
        lut[i].x <== m - x[i];
        sum += lut[i].out;
    }
    chain[0] <== (m - x[0]) * (m - x[1]);
    for (var i = 2; i < N; i++) chain[i - 1] <== chain[i - 2] * (m - x[i]);
    chain[N - 2] === 0;

    component j = NormDivRoundConst(D, BD, 8, 0, 255);
    j.num <== sum - (1 << F);
    component lg = Lut256(TL);
    lg.x <== j.q;
    L <== lg.out;
}
