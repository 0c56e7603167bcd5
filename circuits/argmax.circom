pragma circom 2.1.0;

// Index of the maximum of N integers (zkonnx, hand-written), ONNX ArgMax semantics: the first maximum, or
// the last one when LAST = 1.
//
// A one-hot selector s picks index k; m = x[k]. For every i, d[i] = m - x[i] - tie[i] must lie in [0, 2^B),
// where tie[i] = 1 for the indices that must be strictly smaller (those before k, or after k when LAST = 1).
// Soundness precondition (from exact bounds): max(x) - min(x) < 2^B, B <= 250. Then the honest d[i] fit, a
// wrong k makes some d[i] negative (a field element near p, outside [0, 2^B)), and k is unique.

// Cost: N * (B + 3) + 2 constraints (N selector bits, 1 sum, N products, N * B bits, N recompositions,
// 1 index). For N = 2 one fewer: the index is then the bare signal s[1], an equality that --O1 removes.
template ArgMax(N, B, LAST) {
    signal input x[N];
    signal output index;
    signal s[N];
    signal p[N];
    signal bits[N][B];

    var best = 0;
    for (var i = 1; i < N; i++) {
        // circom compares field elements as signed values in (-p/2, p/2]
        if ((LAST == 1 && x[i] >= x[best]) || (LAST == 0 && x[i] > x[best])) best = i;
    }
    var sum = 0;
    var m = 0;
    var idx = 0;
    for (var i = 0; i < N; i++) {
        s[i] <-- i == best ? 1 : 0;
        s[i] * (s[i] - 1) === 0;
        sum += s[i];
        p[i] <== s[i] * x[i];
        m += p[i];
        idx += i * s[i];
    }
    sum === 1;

    for (var i = 0; i < N; i++) {
        // tie = 1 if the selected index is after i (first-max) / before i (last-max)
        var tie = 0;
        for (var j = 0; j < N; j++) {
            if ((LAST == 0 && j > i) || (LAST == 1 && j < i)) tie += s[j];
        }
        var d = m - x[i] - tie;
        var lc = 0;
        var e = 1;
        for (var b = 0; b < B; b++) {
            bits[i][b] <-- (d >> b) & 1;
            bits[i][b] * (bits[i][b] - 1) === 0;
            lc += bits[i][b] * e;
            e = e + e;
        }
        lc === d;
    }
    index <== idx;
}
