/** One problem found in a configuration file, located for a person to fix it. */
export interface ConfigFileError {
  /** Path relative to the Magento root (or as given when outside it). */
  readonly file: string;
  readonly line: number;
  readonly column?: number;
  readonly message: string;
}

/** `path:line:col message`, the format editors and CI annotate from. */
export function formatConfigError(error: ConfigFileError): string {
  return `${error.file}:${error.line}:${error.column ?? 1} ${error.message}`;
}

/** 1-based line and column of a character offset. */
export function positionAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < offset && index < text.length; index += 1) {
    if (text.charCodeAt(index) === 10) {
      line += 1;
      lineStart = index + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Line number of the first occurrence of `needle`, or undefined. */
export function lineOf(text: string, needle: string): number | undefined {
  const index = text.indexOf(needle);
  return index < 0 ? undefined : positionAt(text, index).line;
}
