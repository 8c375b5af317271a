/** The error every output writer throws: it names the path and the cause (ENOSPC → "disk full"). */
/** Human cause of a file-system error code (the code itself is kept in the message). */
const CAUSES: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  EEXIST: 'already exists',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  ENOENT: 'no such file or directory',
  EMFILE: 'too many open files',
};

/** An output that could not be written; `code` is the errno code (e.g. 'ENOSPC') when there is one. */
export class WriteError extends Error {
  constructor(readonly file: string, message: string, readonly code?: string) {
    super(message);
    this.name = 'WriteError';
  }
}

/** "disk full (ENOSPC)" for a file-system error, else its message. */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && CAUSES[code]) return `${CAUSES[code]} (${code})`;
  return code ? `${code}: ${(e as Error).message}` : String((e as Error)?.message ?? e);
}

/** Wrap any error of writing `file` into a WriteError naming the path and the cause (a WriteError passes through). */
export function writeError(file: string, e: unknown, doing = 'cannot write'): WriteError {
  if (e instanceof WriteError) return e;
  return new WriteError(file, `${doing} ${file}: ${describeFsError(e)}`, (e as NodeJS.ErrnoException)?.code);
}

