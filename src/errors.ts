/**
 * Every error zkonnx throws on purpose is a ZkonnxError: a short message that says what is wrong, optional
 * details (one line per problem), and a hint that says how to fix it. The CLI prints these without a stack
 * trace and exits with `exitCode` (2 = bad input or usage).
 */
export interface ZkonnxErrorOptions {
  details?: string[];
  hint?: string;
  cause?: unknown;
}

export class ZkonnxError extends Error {
  override name = 'ZkonnxError';
  readonly code: string = 'ZKONNX_ERROR';
  readonly exitCode: number = 2;
  readonly shortMessage: string;
  readonly details: string[];
  readonly hint?: string;

  constructor(shortMessage: string, opts: ZkonnxErrorOptions = {}) {
    const lines = [shortMessage, ...(opts.details ?? []).map((d) => `  - ${d}`)];
    if (opts.hint) lines.push(`Hint: ${opts.hint}`);
    super(lines.join('\n'), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.shortMessage = shortMessage;
    this.details = opts.details ?? [];
    this.hint = opts.hint;
  }
}

/** The bytes are not a readable ONNX model. */
export class OnnxParseError extends ZkonnxError {
  override name = 'OnnxParseError';
  override readonly code = 'ONNX_PARSE';
}

/** One problem found in a model, tied to the node (and op) it concerns. */
export interface ModelIssue {
  node: string;
  op: string;
  message: string;
}

/**
 * The model is valid ONNX but uses ops, attributes or shapes zkonnx does not support. Every problem found is
 * listed (not just the first), each naming its node and op.
 */
export class UnsupportedModelError extends ZkonnxError {
  override name = 'UnsupportedModelError';
  override readonly code = 'UNSUPPORTED_MODEL';
  readonly issues: ModelIssue[];
  constructor(issues: ModelIssue[], hint?: string) {
    const head =
      issues.length === 1
        ? `Unsupported model: node '${issues[0].node}' (${issues[0].op}): ${issues[0].message}`
        : `Unsupported model: ${issues.length} problems found.`;
    super(head, {
      details: issues.length === 1 ? [] : issues.map((i) => `node '${i.node}' (${i.op}): ${i.message}`),
      hint,
    });
    this.issues = issues;
  }
}

/** An input, calibration or bundle file is missing or malformed. */
export class InputError extends ZkonnxError {
  override name = 'InputError';
  override readonly code = 'BAD_INPUT';
}

/** An artifact directory is missing a file, or holds files made for another model or circuit. */
export class ArtifactError extends ZkonnxError {
  override name = 'ArtifactError';
  override readonly code = 'ARTIFACT';
}

/** The circom compiler failed or reported something unexpected. */
export class CompileError extends ZkonnxError {
  override name = 'CompileError';
  override readonly code = 'COMPILE';
}

/** The witness computed by the circuit differs from the integer reference: a zkonnx bug, never user error. */
export class WitnessMismatchError extends ZkonnxError {
  override name = 'WitnessMismatchError';
  override readonly code = 'WITNESS_MISMATCH';
  override readonly exitCode = 3;
}

/** Key generation failed. */
export class SetupError extends ZkonnxError {
  override name = 'SetupError';
  override readonly code = 'SETUP';
}

/** A generated contract would not fit on chain (EIP-170: 24,576 bytes of runtime bytecode). */
export class ContractSizeError extends ZkonnxError {
  override name = 'ContractSizeError';
  override readonly code = 'CONTRACT_SIZE';
}

/**
 * The file system refused an operation (read-only, full, a directory where a file was expected, a missing
 * or unreachable path, no permission). Names the path and the system's reason; exit 2: the environment, not
 * zkonnx, must change.
 */
export class FileSystemError extends ZkonnxError {
  override name = 'FileSystemError';
  override readonly code = 'FILESYSTEM';
  /** The errno code (EROFS, ENOSPC, EISDIR, ENOTDIR, ENOENT, EACCES, ...). */
  readonly errno: string;
  readonly path: string;
  constructor(shortMessage: string, errno: string, path: string, opts: ZkonnxErrorOptions = {}) {
    super(shortMessage, opts);
    this.errno = errno;
    this.path = path;
  }
}

/** Another zkonnx process is using the artifact directory (or output file) in a way that conflicts. */
export class LockError extends ZkonnxError {
  override name = 'LockError';
  override readonly code = 'LOCKED';
}

/** The model exceeds a size limit (nodes, initializer bytes, predicted constraints); a flag raises it. */
export class ModelLimitError extends ZkonnxError {
  override name = 'ModelLimitError';
  override readonly code = 'MODEL_LIMIT';
}

/** What each errno code means, in words (the file-system failures a user can meet and fix). */
const FS_REASONS: Record<string, string> = {
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EFBIG: 'the file is too large for the file system',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOENT: 'no such file or directory',
  EEXIST: 'something is already in the way',
  ENOTEMPTY: 'the directory is not empty',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EBUSY: 'the resource is busy',
  EXDEV: 'it is on another device',
  EIO: 'an I/O error',
  ENXIO: 'no such device',
  ENODEV: 'no such device',
  ETXTBSY: 'the file is busy',
  ESTALE: 'a stale network file handle',
  EINVAL: 'the path is not valid here',
};

/** A Node.js error from a file-system call (it has an errno code we know and, usually, the path). */
export function isFileSystemFailure(e: unknown): e is Error & { code: string; path?: string; dest?: string; syscall?: string } {
  if (!(e instanceof Error)) return false;
  const { code, syscall } = e as { code?: unknown; syscall?: unknown };
  return typeof code === 'string' && Object.hasOwn(FS_REASONS, code) && typeof syscall === 'string';
}

/**
 * The FileSystemError for a failed file-system call: "Cannot write bundle '/x/bundle.json': the file system is
 * read-only (EROFS)." `what` names the file's role; `path` is the file the caller meant (the system call may
 * have failed on a temp file beside it or on a parent directory, named too when it differs).
 */
export function fileSystemError(e: Error & { code: string; path?: string; dest?: string }, action: string, what: string, path?: string): FileSystemError {
  const target = path ?? e.path ?? '?';
  const failedOn = e.dest && e.code === 'EISDIR' ? e.dest : e.path;
  const on = failedOn && failedOn !== target ? ` (at '${failedOn}')` : '';
  const hint =
    e.code === 'ENOSPC' || e.code === 'EDQUOT' ? 'Free some space or write somewhere else.'
    : e.code === 'EROFS' || e.code === 'EACCES' || e.code === 'EPERM' ? 'Choose a writable location (or fix its permissions).'
    : e.code === 'EISDIR' ? 'Give a file name, not a directory.'
    : undefined;
  return new FileSystemError(`Cannot ${action} ${what} '${target}'${on}: ${FS_REASONS[e.code]} (${e.code}).`, e.code, target, { cause: e, hint });
}
