pragma circom 2.1.0;

// One-hot selector of an integer index (zkonnx, hand-written), for Gather with a variable index.
//
// b[j] = 1 for j = idx - LO, 0 elsewhere: every b[j] boolean (N rows), exactly one set (1 row), and
// sum (LO + j) * b[j] = idx (1 row). Together they prove LO <= idx < LO + N and fix b: a wrong b (two set,
// none set, or the wrong one) violates a row. Cost: N + 2 constraints. Needs N >= 3 so that the last row has
// at least two non-zero coefficients (--O1 would otherwise merge it as an equality and the count changes).
template OneHotIndex(N, LO) {
    signal input idx;
    signal output b[N];
    var sum = 0;
    var weighted = 0;
    for (var j = 0; j < N; j++) {
        b[j] <-- idx == LO + j ? 1 : 0;
        b[j] * (b[j] - 1) === 0;
        sum += b[j];
        weighted += (LO + j) * b[j];
    }
    sum === 1;
    weighted === idx;
}
