/**
 * The one place YAML is written and read, so every artifact looks the same:
 * YAML 1.2 core schema with strings that look like YAML 1.1 booleans/numbers quoted,
 * no line wrapping (long shell lines and regexps stay intact), empty documents skipped.
 */
import { parseAllDocuments, stringify, type DocumentOptions, type ToStringOptions } from 'yaml';

const toStringOptions: ToStringOptions & DocumentOptions = {
  lineWidth: 0,
  minContentWidth: 0,
  // Quote "yes"/"no"/"on"/"off" and friends: kubectl and other YAML 1.1 readers
  // would otherwise turn them into booleans.
  version: '1.1',
};

export function toYaml(value: unknown): string {
  return stringify(value, { ...toStringOptions });
}

/** Several objects as one multi-document stream (`kubectl apply -f -` reads it). */
export function toYamlStream(values: readonly unknown[]): string {
  return values
    .filter((v) => v !== undefined && v !== null)
    .map((v) => toYaml(v))
    .join('---\n');
}

/** Parse every document of a stream; a syntax error names the line. */
export function parseYamlStream(text: string): unknown[] {
  const docs = parseAllDocuments(text);
  const out: unknown[] = [];
  for (const doc of docs) {
    if ('errors' in doc && doc.errors.length > 0) {
      const first = doc.errors[0]!;
      throw new YamlSyntaxError(first.message, first.linePos?.[0]?.line);
    }
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

export class YamlSyntaxError extends Error {
  override readonly name = 'YamlSyntaxError';
  constructor(message: string, readonly line?: number) {
    super(message);
  }
}
