pragma circom 2.1.0;

// Rounded division of a signed integer by a positive signal (zkonnx, hand-written; src/ops/norm.ts):
//
//   q = floor((2 * MUL * num + den) / (2 * den))      (num * MUL / den rounded, halves up)
//
// proven by  2 * MUL * num + den = 2 * q * den + r  with  0 <= r < 2 * den:  r and 2 * den - 1 - r are
// decomposed into BD + 1 bits each, and q + QOFF into BQ bits.
//
// Soundness preconditions (established by the caller from exact integer bounds): den is an integer in
// [1, 2^BD) (constrained by the caller: the isqrt root, or a sum of table outputs that contains 2^F);
// |2 * MUL * num + den| < 2^200; BQ + BD + 2 < 250. Then both sides of the equation are integers far below
// the field size, so they are equal as integers; 0 <= r < 2 * den makes (q, r) unique. A wrong q (q - 1,
// q + 1, anything) forces r outside [0, 2 * den), which no bit decomposition can represent.
// Every <-- is pinned by the booleanity rows and recompositions that follow it.

// Cost: BQ + 2 * BD + 6 constraints (BQ bits, 1 for q, 1 product q * den, 2 * (BD + 1) bits, 2 recompositions).
template NormDivRound(BD, BQ, QOFF, MUL) {
    signal input num;
    signal input den;
    signal output q;
    signal qb[BQ];
    signal qd;
    signal rb[BD + 1];
    signal sb[BD + 1];

    // Witness: q + QOFF >= 0, so the numerator below is a non-negative integer and \ is integer division.
    var t = (2 * MUL * num + den + 2 * den * QOFF) \ (2 * den);
    var lc = 0;
    var e = 1;
    for (var i = 0; i < BQ; i++) {
        qb[i] <-- (t >> i) & 1;
        qb[i] * (qb[i] - 1) === 0;
        lc += qb[i] * e;
        e = e + e;
    }
    q <== lc - QOFF;
    qd <== q * den;

    var r = 2 * MUL * num + den - 2 * qd;
    var lr = 0;
    var ls = 0;
    e = 1;
    for (var i = 0; i <= BD; i++) {
        rb[i] <-- (r >> i) & 1;
        rb[i] * (rb[i] - 1) === 0;
        lr += rb[i] * e;
        sb[i] <-- ((2 * den - 1 - r) >> i) & 1;
        sb[i] * (sb[i] - 1) === 0;
        ls += sb[i] * e;
        e = e + e;
    }
    lr === r;
    ls === 2 * den - 1 - r;
}

// Rounded division by a constant D >= 1 (zkonnx, hand-written; src/ops/norm.ts):
//
//   q = floor((2 * MUL * num + D) / (2 * D)),   proven by  2 * MUL * num + D = 2 * q * D + r,  0 <= r < 2 * D
//
// with r and 2 * D - 1 - r decomposed into BD + 1 bits each (2 * D <= 2^(BD + 1)) and q + QOFF into BQ bits.
// Soundness preconditions (from exact integer bounds): |2 * MUL * num + D| < 2^200, BQ + BD + 2 < 250: then
// the equation holds over the integers and (q, r) is unique.

// Cost: BQ + 2 * BD + 5 constraints (BQ bits, 1 for q, 2 * (BD + 1) bits, 2 recompositions).
template NormDivRoundConst(D, BD, BQ, QOFF, MUL) {
    signal input num;
    signal output q;
    signal qb[BQ];
    signal rb[BD + 1];
    signal sb[BD + 1];

    var t = (2 * MUL * num + D + 2 * D * QOFF) \ (2 * D);
    var lc = 0;
    var e = 1;
    for (var i = 0; i < BQ; i++) {
        qb[i] <-- (t >> i) & 1;
        qb[i] * (qb[i] - 1) === 0;
        lc += qb[i] * e;
        e = e + e;
    }
    q <== lc - QOFF;

    var r = 2 * MUL * num + D - 2 * D * q;
    var lr = 0;
    var ls = 0;
    e = 1;
    for (var i = 0; i <= BD; i++) {
        rb[i] <-- (r >> i) & 1;
        rb[i] * (rb[i] - 1) === 0;
        lr += rb[i] * e;
        sb[i] <-- ((2 * D - 1 - r) >> i) & 1;
        sb[i] * (sb[i] - 1) === 0;
        ls += sb[i] * e;
        e = e + e;
    }
    lr === r;
    ls === 2 * D - 1 - r;
}
