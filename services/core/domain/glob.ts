/** Asset-class globs: `*` matches any run of characters, everything else is literal. */
export interface Glob {
  readonly source: string;
  readonly regex: RegExp;
  readonly matchesAll: boolean;
}

export function compileGlob(source: string): Glob {
  const escaped = source
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return { source, regex: new RegExp(`^${escaped}$`), matchesAll: /^\*+$/.test(source) };
}

export function globMatches(glob: Glob, value: string): boolean {
  return glob.matchesAll || glob.regex.test(value);
}

/** Conservative: true only when every string `inner` matches is matched by `outer`. */
export function globCovers(outer: Glob, inner: Glob): boolean {
  if (outer.matchesAll) return true;
  if (!inner.source.includes('*')) return outer.regex.test(inner.source);
  return outer.source === inner.source;
}
