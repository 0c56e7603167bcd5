/** The zkonnx version, recorded in generated circuits, manifests and bundles. Keep in step with package.json. */
export const ZKONNX_VERSION = '0.1.0';
/** Version of the bundle JSON format. */
export const BUNDLE_FORMAT_VERSION = 1;
