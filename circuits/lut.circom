pragma circom 2.1.0;

// A 256-entry table lookup on a uint8 input (zkonnx, hand-written): out = T[x].
//
// x is decomposed into 8 bits (which also proves 0 <= x < 256). The 16 monomials of the low 4 bits
// (1, b0, b1, b0*b1, ..., b0*b1*b2*b3) make every 16-entry slice of the table a linear combination
// (its multilinear extension); a tree of 15 multiplexers on the high 4 bits picks the slice.
// Every <-- is pinned by the constraint after it.

// Cost: 35 constraints (8 bits, 1 recomposition, 11 monomials, 15 multiplexers).
template Lut256(T) {
    signal input x;
    signal output out;
    signal b[8];
    var lc = 0;
    for (var i = 0; i < 8; i++) {
        b[i] <-- (x >> i) & 1;
        b[i] * (b[i] - 1) === 0;
        lc += b[i] * (1 << i);
    }
    lc === x;

    // mono[m] = product of b[i] over the bits i set in m (m = 0..15); 11 of them need a constraint.
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

    // slice[h] = sum over m of c[h][m] * mono[m], the multilinear extension of T[16h .. 16h + 15]:
    // c[h][m] = sum over sub-masks r of m of (-1)^(|m| - |r|) * T[16h + r].
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

    // Multiplexer tree over b[4..7]: 8 + 4 + 2 + 1 = 15 constraints.
    signal l1[8];
    signal l2[4];
    signal l3[2];
    for (var g = 0; g < 8; g++) l1[g] <== slice[2 * g] + b[4] * (slice[2 * g + 1] - slice[2 * g]);
    for (var g = 0; g < 4; g++) l2[g] <== l1[2 * g] + b[5] * (l1[2 * g + 1] - l1[2 * g]);
    for (var g = 0; g < 2; g++) l3[g] <== l2[2 * g] + b[6] * (l2[2 * g + 1] - l2[2 * g]);
    out <== l3[0] + b[7] * (l3[1] - l3[0]);
}
