import { describe, expect, it } from 'vitest';
import * as api from '../src/index.ts';

describe('public API', () => {
  it('exports exactly these names (a change here is an API change: update the README too)', () => {
    expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
      [
        "ArtifactError",
        "CompileError",
        "DEFAULT_MULTIPLIER_BITS",
        "FIELD_PRIME",
        "InputError",
        "OnnxParseError",
        "SetupError",
        "UnsupportedModelError",
        "WitnessMismatchError",
        "ZKONNX_VERSION",
        "ZkonnxError",
        "bench",
        "benchModel",
        "buildOnnxModel",
        "calibrate",
        "ceremonyBeacon",
        "ceremonyContribute",
        "ceremonyVerify",
        "checkZkey",
        "compileCircuit",
        "compileModel",
        "emitBaseline",
        "emitCircuit",
        "flattenCalibration",
        "flattenInput",
        "formatMarkdown",
        "formatText",
        "fromField",
        "importGraph",
        "loadModelFile",
        "loadOnnx",
        "prove",
        "quantizeInput",
        "quantizeModel",
        "readManifest",
        "readVerificationKey",
        "releaseCurve",
        "runFloat",
        "runInteger",
        "runModel",
        "setupKeys",
        "supportedOps",
        "toField",
        "verifyBundle",
        "writeCharts",
      ]
    `);
  });
});
