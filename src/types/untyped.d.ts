// Minimal declarations for the iden3 packages, which ship no types. Only what zkonnx uses.
declare module 'snarkjs';
declare module 'circom_runtime';
declare module 'r1csfile';
declare module 'fastfile';
declare module 'ffjavascript';
declare module 'circomlibjs';
declare module 'mnist';
declare module 'wasmcurves';
declare module 'wasmbuilder';
